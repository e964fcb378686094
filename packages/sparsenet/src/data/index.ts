export { CLASSES, METADATA_FILE, countByClass, parseMetadata, readMetadata, type ClassName, type MetadataRow } from './metadata.js';
export { IMAGE_FOLDERS, decodeJpeg, encodeJpeg, indexImages, loadImageInto, resizeArea, type RgbImage, type SkippedImage } from './images.js';
export {
  DEFAULT_SPLIT,
  SPLIT_FILE,
  SPLIT_NAMES,
  lesionsOnSeveralSides,
  readSplitCsv,
  splitByLesion,
  writeSplitCsv,
  type SplitAssignment,
  type SplitName,
  type SplitOptions,
} from './split.js';
export { CHANNELS, DEFAULT_NORMALIZATION, normalizationTable, type Normalization } from './normalization.js';
export { BatchLoader, ImageDataset, gatherBatch, type Batch, type BatchOptions, type GatherOptions, type LoaderState } from './dataset.js';
export { DATA_CODE_VERSION, cacheFile, defaultCacheDir, fingerprint, readCache, writeCache, type CacheKey, type CachedImages } from './cache.js';
export { DEFAULT_IMAGE_SIZE, defaultDataDir, loadHam10000, loadHam10000Splits, type LoadOptions, type LoadedHam10000, type SplitLoadOptions } from './load.js';
export { DEFAULT_JPEG_QUALITY, prepareHam10000, type PrepareOptions, type PrepareResult } from './prepare.js';
