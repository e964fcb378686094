export { CLASSES, METADATA_FILE, parseMetadata, readMetadata, type ClassName, type MetadataRow } from './metadata.js';
export { IMAGE_EXTENSIONS, IMAGE_FOLDERS, decodeImage, encodeJpeg, indexImages, loadImageInto, resizeBox, type RgbImage, type SkippedImage } from './images.js';
export {
  DEFAULT_SPLIT,
  SPLIT_FILE,
  SPLIT_NAMES,
  assignParts,
  groupsOnSeveralSides,
  readSplitCsv,
  splitByGroup,
  splitByLesion,
  writeSplitCsv,
  type SplitAssignment,
  type SplitName,
  type SplitOptions,
  type SplitRow,
} from './split.js';
export { CHANNELS, DEFAULT_NORMALIZATION, NORMALIZE_MODES, measureNormalization, normalizationTable, type Normalization, type NormalizeMode } from './normalization.js';
export { BatchLoader, ImageDataset, gatherBatch, type Batch, type BatchOptions, type GatherOptions, type LoaderState } from './dataset.js';
export { DATA_CODE_VERSION, cacheFile, defaultCacheDir, fingerprint, readCache, writeCache, type CacheKey, type CachedImages } from './cache.js';
export { LAYOUTS, detectLayout, readSource, type DataSource, type Layout, type SourceItem } from './sources.js';
export { DEFAULT_IMAGE_SIZE, defaultDataDir, evenlySpaced, loadDataset, loadSplits, type LoadOptions, type LoadedData, type LoadedSplits, type SplitLoadOptions } from './load.js';
export { DEFAULT_JPEG_QUALITY, PREPARED_LIST, prepareDataset, type PrepareOptions, type PrepareResult } from './prepare.js';
export { exportSplitFolders, type ExportOptions, type ExportResult } from './export.js';
export { FASHION_MNIST_CLASSES, FASHION_MNIST_DIR, convertFashionMnist, readIdx, type FashionMnistOptions, type IdxArray } from './idx.js';
