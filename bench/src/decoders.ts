/**
 * The decoder comparison behind sparsenet's choice of sharp: jpeg-js (pure JavaScript, what the loader used
 * before) and sharp (libvips with libjpeg-turbo's decoder) decode the same files, our PIL box filter resizes both,
 * and each result is compared byte for byte with PIL's convert('RGB').resize((s, s), BOX) of the same file (made
 * by pytorch/fixtures/make_resize_fixture.py --folder). sharp's own resize (lanczos3) is timed and compared too.
 *
 *   node bench/dist/decoders.js PIL.bin FOLDER [SIZE]      (names in PIL.bin.txt, in order)
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import jpeg from 'jpeg-js';
import sharp from 'sharp';
import { decodeImage, resizeBox } from '@sparsenet/sparsenet';

type Decoder = (bytes: Uint8Array, file: string, size: number, out: Uint8Array, offset: number) => Promise<void>;

const decoders: Record<string, Decoder> = {
  'jpeg-js + PIL box filter': async (bytes, _file, size, out, offset) => {
    const image = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false, tolerantDecoding: false });
    resizeBox(image.data, image.width, image.height, 3, size, size, out, offset);
  },
  'sharp + PIL box filter (kept)': async (bytes, file, size, out, offset) => {
    const image = await decodeImage(bytes, file);
    resizeBox(image.data, image.width, image.height, 3, size, size, out, offset);
  },
  "sharp's own resize (lanczos3)": async (bytes, _file, size, out, offset) => {
    const data = await sharp(bytes, { ignoreIcc: true }).toColourspace('srgb').removeAlpha().resize(size, size, { fit: 'fill' }).raw().toBuffer();
    out.set(data, offset);
  },
};

async function main(): Promise<void> {
  const [pilFile, folder, sizeText = '64'] = process.argv.slice(2);
  if (!pilFile || !folder) throw new Error('usage: decoders.js PIL.bin FOLDER [SIZE]');
  const size = Number(sizeText);
  const names = readFileSync(`${pilFile}.txt`, 'utf8').trim().split('\n');
  const pil = readFileSync(pilFile);
  const pixels = size * size * 3;
  if (pil.length !== names.length * pixels) throw new Error(`${pilFile}: ${pil.length} bytes for ${names.length} images of ${size}x${size}x3`);
  const files = await Promise.all(names.map((name) => readFile(join(folder, name))));
  console.log(`${names.length} files from ${folder}, ${size}x${size}, against PIL's BOX resize; files read into memory first (decode + resize timed only)`);
  for (const [name, decode] of Object.entries(decoders)) {
    for (const inFlight of [1, 4]) {
      if (name.startsWith('jpeg-js') && inFlight > 1) continue;
      const out = new Uint8Array(names.length * pixels);
      let next = 0;
      const started = performance.now();
      await Promise.all(Array.from({ length: inFlight }, async () => {
        for (let i = next++; i < names.length; i = next++) await decode(files[i], names[i], size, out, i * pixels);
      }));
      const seconds = (performance.now() - started) / 1000;
      let equal = 0;
      let sum = 0;
      let max = 0;
      for (let i = 0; i < out.length; i++) {
        const d = Math.abs(out[i] - pil[i]);
        if (d === 0) equal++;
        sum += d;
        if (d > max) max = d;
      }
      console.log(
        `${name.padEnd(32)} ${String(inFlight).padStart(2)} in flight: ${seconds.toFixed(1).padStart(6)} s (${(1000 * seconds / names.length).toFixed(2)} ms/image); ` +
          `vs PIL: ${(100 * equal / out.length).toFixed(2)}% bytes equal, mean |diff| ${(sum / out.length).toFixed(4)}, max ${max}`,
      );
    }
  }
}

main().catch((error: Error) => {
  console.error(error.stack ?? String(error));
  process.exitCode = 1;
});
