// The layer engine's public API (see README.md).
export { ImageAnalyzer, metadataCacheDir, type ImageAnalyzerOptions } from './analyzer.js';
export {
  resolveImageUser,
  mergeUserFiles,
  parsePasswd,
  parseGroup,
  type LayerUserFiles,
  type FileChange,
} from './users.js';
export {
  analyzeLayerStream,
  compressionOf,
  type LayerPassOptions,
  type LayerPassResult,
  type Compression,
} from './layer.js';
export { VerityHasher, verityRoot } from './verity.js';
export { TarfsIndexBuilder, type TarfsOptions } from './tarfs.js';
export { TarReader, type TarEntry } from './tar.js';
export { loadCache, saveCache, parseCache } from './cache.js';
export { createProgress, type ProgressMode } from './progress.js';
export { warmLayerWorkers } from './layer-workers.js';
export type { ImageUser, LayerAnalysis, AnalyzedImage } from './types.js';
