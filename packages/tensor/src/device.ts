/**
 * Device acquisition. In a browser: navigator.gpu. In Node: Dawn through the npm package `webgpu`, which
 * takes a real GPU where there is one and otherwise a CPU Vulkan driver, best first: Mesa 25's lavapipe,
 * then SwiftShader from Debian's chromium package. SPARSENET_ADAPTER=auto|gpu|lavapipe|swiftshader forces one.
 */

export type AdapterChoice = 'auto' | 'gpu' | 'lavapipe' | 'swiftshader';

export interface DeviceInfo {
  /** 'gpu', 'lavapipe', 'swiftshader' or 'browser' (whatever navigator.gpu gave). */
  kind: 'gpu' | 'lavapipe' | 'swiftshader' | 'browser';
  description: string;
  vendor: string;
  architecture: string;
  /** The adapter's device name (adapterInfo.device), e.g. llvmpipe's LLVM version and vector width. */
  device: string;
  /**
   * What compiles the kernels besides the adapter: in Node, Dawn's version (the npm package `webgpu`) and the
   * driver's own name and version (Dawn's description on Vulkan, e.g. 'llvmpipe: Mesa 25.0.7 (LLVM 15.0.6)');
   * in a browser, its user agent. Tuning and compiled kernels are kept per adapter and driver.
   */
  driver: string;
  timestamps: boolean;
}

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
const LAVAPIPE_ICDS = ['/usr/share/vulkan/icd.d/lvp_icd.json', '/usr/share/vulkan/icd.d/lvp_icd.x86_64.json', '/usr/share/vulkan/icd.d/lvp_icd.aarch64.json'];

const INSTALL_HELP = `No usable WebGPU adapter. On a machine without a GPU install a CPU Vulkan driver:
  - Mesa 25's lavapipe (Debian 12: add the bookworm-backports suite to apt's sources, then
    apt-get install -t bookworm-backports mesa-vulkan-drivers libvulkan1; Dawn refuses Debian 12's own Mesa 22.3), or
  - SwiftShader from Debian's chromium package (apt-get install chromium), chosen with SPARSENET_ADAPTER=swiftshader.
bash .ci/install-system does the first and the second.`;

// Dawn's Node binding can crash when V8 collects the object from create() or the adapter while the device
// lives, so they are held here for the life of the process.
const keepAlive: unknown[] = [];
/** Dawn's instance in Node (the last `create()`), reused for a compile helper: a new one would enumerate (and warn) again. */
let nodeGpu: GPU | null = null;
let acquired: Promise<{ device: GPUDevice; info: DeviceInfo }> | null = null;

/** The process's WebGPU device (acquired once; `getDevice` in runtime.ts also sets up the runtime). */
export async function acquireDevice(choice?: AdapterChoice): Promise<GPUDevice> {
  return (await acquire(choice)).device;
}

/** What `acquireDevice` took, for logs and benchmark tables. */
export async function getDeviceInfo(): Promise<DeviceInfo> {
  return (await acquire()).info;
}

function acquire(choice?: AdapterChoice) {
  acquired ??= open(choice ?? envChoice()).catch((error) => {
    acquired = null;
    throw error;
  });
  return acquired;
}

function envChoice(): AdapterChoice {
  const env = typeof process !== 'undefined' ? process.env?.SPARSENET_ADAPTER : undefined;
  const value = (env ?? 'auto').toLowerCase();
  if (!['auto', 'gpu', 'lavapipe', 'swiftshader'].includes(value)) {
    throw new Error(`SPARSENET_ADAPTER=${env}: expected auto, gpu, lavapipe or swiftshader`);
  }
  return value as AdapterChoice;
}

async function open(choice: AdapterChoice) {
  const browserGpu = typeof navigator !== 'undefined' ? (navigator as Navigator).gpu : undefined;
  if (browserGpu) {
    const adapter = await browserGpu.requestAdapter({ powerPreference: 'high-performance' });
    if (!adapter) throw new Error('navigator.gpu gave no adapter: this browser has WebGPU turned off (try --enable-unsafe-webgpu).');
    keepAlive.push(adapter);
    return { device: await requestDevice(adapter), info: describe(adapter, 'browser', navigator.userAgent) };
  }
  const adapter = await nodeAdapter(choice);
  return { device: await requestDevice(adapter), info: describe(adapter, kindOf(adapter), `Dawn (npm webgpu ${await dawnVersion()}); ${adapter.info.description}`) };
}

/** The version of the npm package `webgpu` (Dawn's Node binding) this process loaded. */
async function dawnVersion(): Promise<string> {
  const moduleModule = 'node:module';
  const { createRequire } = (await import(/* @vite-ignore */ moduleModule)) as typeof import('node:module');
  return (createRequire(import.meta.url)('webgpu/package.json') as { version: string }).version;
}

async function nodeAdapter(choice: AdapterChoice): Promise<GPUAdapter> {
  // A variable specifier keeps browser bundlers from following this Node-only import.
  const dawnModule = 'webgpu';
  const { create, globals } = (await import(/* @vite-ignore */ dawnModule)) as {
    create: (flags: string[]) => GPU;
    globals: Record<string, unknown>;
  };
  for (const [name, value] of Object.entries(globals)) {
    if (!(name in globalThis)) (globalThis as Record<string, unknown>)[name] = value;
  }
  process.env.XDG_RUNTIME_DIR ??= '/tmp';
  const fsModule = 'node:fs';
  const { existsSync } = (await import(/* @vite-ignore */ fsModule)) as typeof import('node:fs');

  const tryIcd = async (icd: string | undefined): Promise<GPUAdapter | null> => {
    if (icd !== undefined) process.env.VK_ICD_FILENAMES = icd;
    const gpu = create([]);
    keepAlive.push(gpu);
    nodeGpu = gpu;
    const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
    if (adapter) keepAlive.push(adapter);
    return adapter;
  };

  if (choice === 'swiftshader') {
    if (!existsSync(SWIFTSHADER_ICD)) throw new Error(`SPARSENET_ADAPTER=swiftshader: ${SWIFTSHADER_ICD} is missing (apt-get install chromium).\n${INSTALL_HELP}`);
    const adapter = await tryIcd(SWIFTSHADER_ICD);
    if (!adapter || kindOf(adapter) !== 'swiftshader') throw new Error(`SPARSENET_ADAPTER=swiftshader: Dawn found no SwiftShader adapter.\n${INSTALL_HELP}`);
    return adapter;
  }
  if (choice === 'lavapipe') {
    const icd = LAVAPIPE_ICDS.find((f) => existsSync(f));
    if (!icd) throw new Error(`SPARSENET_ADAPTER=lavapipe: no lavapipe ICD in /usr/share/vulkan/icd.d.\n${INSTALL_HELP}`);
    const adapter = await tryIcd(icd);
    if (!adapter || kindOf(adapter) !== 'lavapipe') {
      throw new Error(`SPARSENET_ADAPTER=lavapipe: Dawn refused lavapipe (${icd}); Mesa older than 25 is refused.\n${INSTALL_HELP}`);
    }
    return adapter;
  }
  const adapter = await tryIcd(undefined);
  if (choice === 'gpu') {
    if (!adapter || kindOf(adapter) !== 'gpu') throw new Error(`SPARSENET_ADAPTER=gpu: no hardware GPU adapter (found ${adapter ? adapter.info.description || adapter.info.vendor : 'none'}).`);
    return adapter;
  }
  if (adapter) return adapter;
  if (existsSync(SWIFTSHADER_ICD)) {
    const fallback = await tryIcd(SWIFTSHADER_ICD);
    if (fallback) return fallback;
  }
  throw new Error(INSTALL_HELP);
}

/**
 * A second device on the process's lavapipe, for compiling kernels only (KernelRunner.compileHelpers): lavapipe
 * compiles a kernel at its first dispatch on the device's own queue thread and shares the result through Mesa's
 * disk cache, so a second device compiles on a second core. Null elsewhere: other adapters compile when a
 * pipeline is made (where Dawn already uses worker threads), and with Mesa's cache off nothing would be shared.
 */
export async function acquireCompileHelper(): Promise<GPUDevice | null> {
  const { info } = await acquire();
  if (info.kind !== 'lavapipe' || !nodeGpu || /^(1|true|yes)$/i.test(process.env.MESA_SHADER_CACHE_DISABLE ?? '')) return null;
  const adapter = await nodeGpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter || kindOf(adapter) !== 'lavapipe') return null;
  keepAlive.push(adapter);
  return requestDevice(adapter);
}

function kindOf(adapter: GPUAdapter): DeviceInfo['kind'] {
  const { vendor, architecture, description } = adapter.info;
  const text = `${vendor} ${architecture} ${description}`.toLowerCase();
  if (text.includes('llvmpipe') || text.includes('lavapipe')) return 'lavapipe';
  if (text.includes('swiftshader')) return 'swiftshader';
  return 'gpu';
}

function describe(adapter: GPUAdapter, kind: DeviceInfo['kind'], driver: string): DeviceInfo {
  const { vendor, architecture, device, description } = adapter.info;
  return { kind, vendor, architecture, device, driver, description: description || `${vendor} ${architecture}`, timestamps: adapter.features.has('timestamp-query') };
}

async function requestDevice(adapter: GPUAdapter): Promise<GPUDevice> {
  // Ask for the adapter's own limits where they exceed the defaults: larger buffers and more storage
  // bindings per stage (fused kernels need them).
  const names = ['maxStorageBufferBindingSize', 'maxBufferSize', 'maxStorageBuffersPerShaderStage', 'maxComputeWorkgroupStorageSize',
    'maxComputeInvocationsPerWorkgroup', 'maxComputeWorkgroupSizeX', 'maxComputeWorkgroupSizeY'] as const;
  const requiredLimits: Record<string, number> = {};
  for (const name of names) requiredLimits[name] = adapter.limits[name];
  // Timestamps for the per-kernel profile; subgroups for the matmul variant that shares B values across lanes
  // (on lavapipe two to three times faster than one without).
  const requiredFeatures = (['timestamp-query', 'subgroups'] as GPUFeatureName[]).filter((f) => adapter.features.has(f));
  const device = await adapter.requestDevice({ requiredLimits, requiredFeatures });
  keepAlive.push(device);
  return device;
}
