/**
 * Images as training prepared them, decoded by the browser: a JPEG becomes INPUT_SIZE x INPUT_SIZE RGB bytes
 * (createImageBitmap, resized only when it is not that size already, then read back from an OffscreenCanvas),
 * and a batch becomes normalised NCHW floats.
 */
import { INPUT_SIZE } from '../../packages/sparsenet/src/model.js';
import { DEFAULT_NORMALIZATION, normalizationTable, type Normalization } from '../../packages/sparsenet/src/data/normalization.js';

/** RGB bytes, row-major HWC, of an image file. No colour management, so the bytes are the JPEG's own. */
export async function decodeImage(blob: Blob, size = INPUT_SIZE): Promise<Uint8Array> {
  let bitmap = await createImageBitmap(blob, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  if (bitmap.width !== size || bitmap.height !== size) {
    // Training squashed the aspect ratio with an area filter; 'high' is the browser's nearest equivalent.
    const resized = await createImageBitmap(bitmap, { resizeWidth: size, resizeHeight: size, resizeQuality: 'high' });
    bitmap.close();
    bitmap = resized;
  }
  const canvas = new OffscreenCanvas(size, size);
  const context = canvas.getContext('2d', { willReadFrequently: true });
  if (!context) throw new Error('decodeImage: no 2d context on an OffscreenCanvas');
  context.drawImage(bitmap, 0, 0);
  bitmap.close();
  const rgba = context.getImageData(0, 0, size, size).data;
  const rgb = new Uint8Array(size * size * 3);
  for (let p = 0; p < size * size; p++) {
    rgb[3 * p] = rgba[4 * p];
    rgb[3 * p + 1] = rgba[4 * p + 1];
    rgb[3 * p + 2] = rgba[4 * p + 2];
  }
  return rgb;
}

/** A batch [N, 3, size, size] of normalised floats from HWC RGB bytes, with gatherBatch's table (no flips). */
export function normalisedBatch(images: readonly Uint8Array[], size = INPUT_SIZE, normalization: Normalization = DEFAULT_NORMALIZATION): Float32Array {
  const table = normalizationTable(normalization);
  const plane = size * size;
  const out = new Float32Array(images.length * 3 * plane);
  images.forEach((rgb, b) => {
    for (let c = 0; c < 3; c++) {
      for (let p = 0; p < plane; p++) out[(b * 3 + c) * plane + p] = table[c * 256 + rgb[3 * p + c]];
    }
  });
  return out;
}

/** An <img> source for a decoded image, to show what the model saw. */
export function imageUrl(rgb: Uint8Array, size = INPUT_SIZE): string {
  const canvas = document.createElement('canvas');
  canvas.width = canvas.height = size;
  const context = canvas.getContext('2d')!;
  const image = context.createImageData(size, size);
  for (let p = 0; p < size * size; p++) {
    image.data.set([rgb[3 * p], rgb[3 * p + 1], rgb[3 * p + 2], 255], 4 * p);
  }
  context.putImageData(image, 0, 0);
  return canvas.toDataURL();
}
