import type { NextFunction, Request, Response } from 'express';
import type { Histogram } from 'prom-client';

/** The matched express route (`/v1/conversations/:id`), so that ids do not explode the label set. */
export const routeLabel = (req: Request): string => (req.route ? req.baseUrl + String(req.route.path) : 'unmatched');

/** Times every request into the histogram, labelled once the response is finished. */
export function httpMetrics(histogram: Histogram<'method' | 'route' | 'status'>) {
  return (req: Request, res: Response, next: NextFunction) => {
    const end = histogram.startTimer();
    res.once('finish', () => end({ method: req.method, route: routeLabel(req), status: String(res.statusCode) }));
    next();
  };
}
