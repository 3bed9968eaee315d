import { createRequire } from 'node:module';
import express, { type Request, type Response, type NextFunction } from 'express';

/** Swagger UI's own build (swagger-ui-dist), served as files: it needs no build step of ours. */
const swaggerUiDir = (createRequire(import.meta.url)('swagger-ui-dist/absolute-path.js') as () => string)();

/**
 * Interactive docs of the OpenAPI document at `documentUrl`, to mount at /docs. Everything is
 * served from here (the validator badge, which would call out to swagger.io, is off), so the
 * app's Content-Security-Policy holds for these pages too.
 */
export function apiDocs(documentUrl: string): express.Router {
  const router = express.Router();
  // The page loads its scripts and styles by relative URLs, which resolve under /docs/ only.
  router.get('/', (req: Request, res: Response, next: NextFunction) => {
    if (req.originalUrl.split('?')[0]!.endsWith('/')) next();
    else res.redirect(301, `${req.baseUrl}/`);
  });
  router.get('/swagger-initializer.js', (_req, res) => {
    res.type('text/javascript').send(initializer(documentUrl));
  });
  router.use(express.static(swaggerUiDir, { index: 'index.html' }));
  return router;
}

const initializer = (documentUrl: string) => `window.onload = function () {
  window.ui = SwaggerUIBundle({
    url: ${JSON.stringify(documentUrl)},
    dom_id: '#swagger-ui',
    deepLinking: true,
    validatorUrl: null,
    persistAuthorization: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    plugins: [SwaggerUIBundle.plugins.DownloadUrl],
    layout: 'StandaloneLayout',
  });
};
`;
