export * from './image-store';
export * from './metadata';
export * from './templates';
export { renderTemplate, parseTemplate, TemplateContext, TemplateValue } from './template-engine';
export { scanArchive, detectFormat, tarballHasMetadata, ArchiveScan, ArchiveLayout, Compression, FileFormat } from './archive';
export * from './image-catalog';
