import sharp from 'sharp';
import { DomainError } from '../domain/errors.js';

// Each upload is decoded once; a cache of decoded images would only hold memory between uploads.
sharp.cache(false);

/** Thumbnails fit in this square, small enough for a conversation view and a preview in a list. */
const THUMBNAIL_EDGE = 320;

export interface ImageFacts {
  /** As displayed, after the EXIF orientation. */
  width: number;
  height: number;
  thumbnail: { bytes: Buffer; mime: 'image/webp'; width: number; height: number };
}

/** Measures an image and makes its thumbnail; an image that does not decode is refused. */
export async function probeImage(file: string): Promise<ImageFacts> {
  try {
    const metadata = await sharp(file).metadata();
    const { data, info } = await sharp(file)
      .autoOrient()
      .resize({ width: THUMBNAIL_EDGE, height: THUMBNAIL_EDGE, fit: 'inside', withoutEnlargement: true })
      .webp({ quality: 70 })
      .toBuffer({ resolveWithObject: true });
    const { width, height } = metadata.autoOrient ?? metadata;
    return { width, height, thumbnail: { bytes: data, mime: 'image/webp', width: info.width, height: info.height } };
  } catch (error) {
    throw new DomainError('unsupported_media_type', `the image could not be decoded: ${(error as Error).message}`);
  }
}
