/**
 * The browser page, built with Vite: `npx vite --config web/vite.config.ts` serves it for development,
 * `npx vite build --config web/vite.config.ts` bundles it into web/dist, and `npx vite preview --config
 * web/vite.config.ts` serves that bundle. @sparsenet/* resolve to the packages' TypeScript sources, as in
 * vitest.config.ts, so the page runs exactly the code Node runs. Both servers listen on 127.0.0.1 only and
 * mount two folders: /samples/ (the embedded data set's JPEGs) and /runs/ (training runs, for checkpoints).
 * The build copies the sample images named in samples.json into dist/samples/, so the bundle stands alone.
 *
 * `nodeReferenceConfig` bundles web/node/reference.ts for Node (the browser test's other side) from the same
 * sources.
 */
import { createReadStream, readFileSync, statSync } from 'node:fs';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig, type InlineConfig, type Plugin, type UserConfig } from 'vite';

export const REPO = fileURLToPath(new URL('..', import.meta.url));
export const WEB = join(REPO, 'web');
export const SAMPLES_DIR = join(REPO, 'data', 'ham10000-64', 'images');
export const RUNS_DIR = join(REPO, 'runs');
/** Where the Node side of the browser test is bundled (gitignored as .cache/; inside the repo so that `webgpu` resolves). */
export const NODE_REFERENCE = join(WEB, '.cache', 'node', 'reference.js');

const src = (pkg: string) => join(REPO, 'packages', pkg, 'src', 'index.ts');

export const ALIASES = {
  '@sparsenet/kernels-wgsl': src('kernels-wgsl'),
  // Before '@sparsenet/tensor', which would otherwise match it as a prefix.
  '@sparsenet/tensor/conformance': join(REPO, 'packages', 'tensor', 'src', 'conformance.ts'),
  '@sparsenet/tensor': src('tensor'),
  '@sparsenet/sparsenet': src('sparsenet'),
  '@sparsenet/viz': src('viz'),
};

const CONTENT_TYPES: Record<string, string> = {
  '.jpg': 'image/jpeg', '.png': 'image/png', '.json': 'application/json', '.html': 'text/html', '.safetensors': 'application/octet-stream',
};

type Middleware = (req: { url?: string }, res: import('node:http').ServerResponse, next: () => void) => void;

/** Serves GET `prefix` + path from `dir` (never above it). */
function serveFolder(prefix: string, dir: string): Middleware {
  const root = resolve(dir);
  return (req, res, next) => {
    const path = decodeURIComponent((req.url ?? '').split('?')[0]);
    if (!path.startsWith(prefix)) return next();
    const file = resolve(root, `.${sep}${path.slice(prefix.length)}`);
    if (!file.startsWith(root + sep) || !statSync(file, { throwIfNoEntry: false })?.isFile()) {
      res.statusCode = 404;
      return res.end(`not found: ${path}`);
    }
    res.setHeader('Content-Type', CONTENT_TYPES[extname(file)] ?? 'application/octet-stream');
    createReadStream(file).pipe(res);
  };
}

interface SampleList {
  samples: { file: string }[];
}

/** Mounts folders on the dev and preview servers, and copies the sample images into the bundle. */
function sparsenetFiles(mounts: Record<string, string>): Plugin {
  const use = (server: { middlewares: { use: (m: Middleware) => void } }) => {
    for (const [prefix, dir] of Object.entries(mounts)) server.middlewares.use(serveFolder(prefix, dir));
  };
  return {
    name: 'sparsenet-files',
    configureServer: use,
    configurePreviewServer: use,
    generateBundle() {
      const { samples } = JSON.parse(readFileSync(join(WEB, 'samples.json'), 'utf8')) as SampleList;
      for (const { file } of samples) this.emitFile({ type: 'asset', fileName: `samples/${file}`, source: readFileSync(join(SAMPLES_DIR, file)) });
    },
  };
}

export interface WebConfigOptions {
  /** URL prefix (with slashes) to folder; default /samples/ and /runs/. */
  mounts?: Record<string, string>;
  /** 0 picks a free port. */
  port?: number;
}

export function webConfig(options: WebConfigOptions = {}): UserConfig {
  const mounts = options.mounts ?? { '/samples/': SAMPLES_DIR, '/runs/': RUNS_DIR };
  const server = { host: '127.0.0.1', port: options.port ?? 5173, strictPort: options.port === 0 ? false : undefined };
  return {
    root: WEB,
    base: './',
    publicDir: false,
    resolve: { alias: ALIASES },
    plugins: [sparsenetFiles(mounts)],
    server: { ...server, fs: { allow: [REPO] } },
    preview: { ...server, port: options.port ?? 4173 },
    build: { outDir: join(WEB, 'dist'), emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 2000 },
    logLevel: 'warn',
  };
}

/** The Node side of the browser test as one ES module (dependencies in node_modules stay external). */
export function nodeReferenceConfig(): InlineConfig {
  return {
    configFile: false,
    root: REPO,
    resolve: { alias: ALIASES },
    logLevel: 'warn',
    build: {
      ssr: join(WEB, 'node', 'reference.ts'),
      outDir: join(WEB, '.cache', 'node'),
      emptyOutDir: true,
      target: 'node20',
      rollupOptions: { output: { entryFileNames: 'reference.js' } },
    },
  };
}

export default defineConfig(webConfig());
