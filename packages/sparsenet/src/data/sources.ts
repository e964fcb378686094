/**
 * What a data folder holds, before any image is decoded: its layout (detected from its contents or forced), its
 * classes in label order, and one item per image with its label, its group (images of one group stay on one side
 * of a split) and, where the layout fixes it, its part. Layouts:
 * - `ham10000`: HAM10000_metadata.csv with the JPEGs (the embedded set); groups are lesions.
 * - `split-folders`: DIR/train/<class>/*, DIR/test/<class>/*, optional DIR/val/<class>/* (the seed's layout).
 * - `class-folders`: DIR/<class>/* (torchvision's ImageFolder), one pool split later.
 * - `csv`: a CSV of `file,label[,group][,split]`, files relative to the CSV's folder.
 * Classes are the sorted folder names (as ImageFolder sorts them) or the CSV's labels in order of first appearance.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, extname, join, relative, resolve, sep } from 'node:path';
import { columnIndices, parseCsv } from './csv.js';
import { IMAGE_EXTENSIONS, IMAGE_FOLDERS, indexImages } from './images.js';
import { CLASSES, METADATA_FILE, parseMetadata } from './metadata.js';
import { SPLIT_NAMES, type SplitName } from './split.js';

export const LAYOUTS = ['ham10000', 'split-folders', 'class-folders', 'csv'] as const;
export type Layout = (typeof LAYOUTS)[number];

export interface SourceItem {
  /** The image's id in split.csv: HAM10000's image_id, else the file's path relative to the data folder ('/'-separated). */
  id: string;
  /** The image file, or null when the listing names one that does not exist. */
  file: string | null;
  label: number;
  /** Images of one group stay on one side of a split (HAM10000's lesion_id, the CSV's group, else the id). */
  group: string;
  /** The part the layout puts it in (split folders, a CSV's split column), or null when the split decides. */
  part: SplitName | null;
  /** Where the item was listed, for messages: 'file.csv line 12' or the file. */
  where: string;
}

export interface DataSource {
  /** The data folder (for a CSV given as a file: the CSV). */
  dir: string;
  layout: Layout;
  classes: string[];
  items: SourceItem[];
  /** Files the listing itself comes from (the CSV), hashed into the cache key beside the images. */
  listingFiles: string[];
  /** Files seen that are not images (skipped, warned about, counted). */
  notImages: string[];
}

const isImageName = (name: string) => (IMAGE_EXTENSIONS as readonly string[]).includes(extname(name).toLowerCase());
const isDir = (path: string) => existsSync(path) && statSync(path).isDirectory();
const sortedNames = (names: string[]) => [...names].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

/** The CSVs of a folder that list a data set: a header with `file` and `label` columns (so not split.csv, not HAM10000's metadata). */
function labelCsvs(dir: string): string[] {
  const listsImages = (name: string) => {
    const header = readFileSync(join(dir, name), 'utf8').split(/\r?\n/, 1)[0].replace(/^\uFEFF/, '');
    const columns = header.split(',').map((c) => c.trim().replace(/^"|"$/g, ''));
    return columns.includes('file') && columns.includes('label');
  };
  return sortedNames(readdirSync(dir).filter((n) => n.toLowerCase().endsWith('.csv') && statSync(join(dir, n)).isFile() && listsImages(n)));
}

/** The layout of `path` from what it holds; throws naming the folder and what was looked for when none fits. */
export function detectLayout(path: string): Layout {
  if (!existsSync(path)) throw new Error(`data folder not found: ${path}`);
  if (!isDir(path)) {
    if (path.toLowerCase().endsWith('.csv')) return 'csv';
    throw new Error(`data: ${path} is neither a folder nor a .csv file`);
  }
  if (existsSync(join(path, METADATA_FILE))) return 'ham10000';
  if (isDir(join(path, 'train')) && isDir(join(path, 'test'))) return 'split-folders';
  if (labelCsvs(path).length > 0) return 'csv';
  const subdirs = readdirSync(path, { withFileTypes: true }).filter((e) => e.isDirectory() && !e.name.startsWith('.'));
  if (subdirs.some((d) => readdirSync(join(path, d.name)).some(isImageName))) return 'class-folders';
  throw new Error(
    `data: cannot tell the layout of ${path}: expected ${METADATA_FILE} (HAM10000), train/ and test/ folders of classes, ` +
      `one folder of images per class, or one CSV with file,label columns (or force one with --layout ${LAYOUTS.join('|')})`,
  );
}

/** Lists the data set at `path` in the given layout (detected when omitted). Throws naming the file or folder at fault. */
export function readSource(path: string, layout: Layout = detectLayout(resolve(path)), warn: (message: string) => void = console.warn): DataSource {
  const dir = resolve(path);
  if (!existsSync(dir)) throw new Error(`data folder not found: ${dir}`);
  const source =
    layout === 'ham10000' ? ham10000Source(dir)
    : layout === 'split-folders' ? splitFoldersSource(dir, warn)
    : layout === 'class-folders' ? classFoldersSource(dir)
    : csvSource(dir);
  if (source.classes.length < 2) {
    throw new Error(`data: ${source.dir} (${layout}) has ${source.classes.length === 0 ? 'no class' : `one class only (${source.classes[0]})`}; a classifier needs at least 2`);
  }
  return source;
}

function ham10000Source(dir: string): DataSource {
  if (!isDir(dir)) throw new Error(`HAM10000 folder not found: ${dir}`);
  const files = indexImages(dir);
  const csvPath = join(dir, METADATA_FILE);
  let text: string;
  try {
    text = readFileSync(csvPath, 'utf8');
  } catch (err) {
    throw new Error(`cannot read the HAM10000 metadata ${csvPath}: ${(err as Error).message}`);
  }
  const where = [dir, ...IMAGE_FOLDERS.map((f) => join(dir, f))].join(', ');
  const items = parseMetadata(text, csvPath).map((row) => ({
    id: row.imageId,
    file: files.get(row.imageId) ?? null,
    label: row.label,
    group: row.lesionId,
    part: null,
    where: `${csvPath} line ${row.line}` + (files.has(row.imageId) ? '' : `: no ${row.imageId}.jpg in ${where}`),
  }));
  return { dir, layout: 'ham10000', classes: [...CLASSES], items, listingFiles: [csvPath], notImages: [] };
}

/**
 * One folder per class under `root`: the sorted class names, each folder's images (sorted) and the files in them
 * that are not images. Files beside the class folders (a README, a NOTICE) belong to no class and are not read.
 */
function classFolders(root: string, dataDir: string): { classes: string[]; images: Map<string, string[]>; notImages: string[] } {
  const entries = readdirSync(root, { withFileTypes: true }).filter((e) => !e.name.startsWith('.'));
  const classes = sortedNames(entries.filter((e) => e.isDirectory()).map((e) => e.name));
  const notImages: string[] = [];
  const images = new Map<string, string[]>();
  for (const name of classes) {
    const folder = join(root, name);
    const files = sortedNames(readdirSync(folder).filter((n) => !n.startsWith('.'))).map((n) => join(folder, n));
    const kept = files.filter((f) => isImageName(f) && statSync(f).isFile());
    notImages.push(...files.filter((f) => !kept.includes(f)));
    images.set(name, kept.map((f) => relative(dataDir, f).split(sep).join('/')));
  }
  return { classes, images, notImages };
}

function emptyClassError(folder: string): Error {
  return new Error(`data: class folder ${folder} holds no image (${IMAGE_EXTENSIONS.join(', ')}); remove it or add its images`);
}

function classFoldersSource(dir: string): DataSource {
  const { classes, images, notImages } = classFolders(dir, dir);
  const items: SourceItem[] = [];
  classes.forEach((name, label) => {
    const ids = images.get(name)!;
    if (ids.length === 0) throw emptyClassError(join(dir, name));
    for (const id of ids) items.push({ id, file: join(dir, id), label, group: id, part: null, where: join(dir, id) });
  });
  return { dir, layout: 'class-folders', classes, items, listingFiles: [], notImages };
}

function splitFoldersSource(dir: string, warn: (message: string) => void): DataSource {
  const parts = SPLIT_NAMES.filter((part) => isDir(join(dir, part)));
  for (const needed of ['train', 'test'] as const) if (!parts.includes(needed)) throw new Error(`data: ${dir} has no ${needed}/ folder (split-folders layout: train/<class>/, test/<class>/, optional val/<class>/)`);
  const listed = new Map(parts.map((part) => [part, classFolders(join(dir, part), dir)]));
  const classes = listed.get('train')!.classes;
  const items: SourceItem[] = [];
  const notImages: string[] = [];
  for (const part of parts) {
    const { classes: found, images, notImages: others } = listed.get(part)!;
    notImages.push(...others);
    const unknown = found.filter((name) => !classes.includes(name));
    if (unknown.length) throw new Error(`data: ${join(dir, part)} has class folder${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} that ${join(dir, 'train')} lacks`);
    for (const name of classes) {
      const ids = images.get(name) ?? [];
      if (ids.length === 0) {
        if (part === 'train') throw emptyClassError(join(dir, part, name));
        warn(`data: ${join(dir, part, name)} ${images.has(name) ? 'holds no image' : 'is missing'}: the ${part} part has no ${name} image`);
      }
      for (const id of ids) items.push({ id, file: join(dir, id), label: classes.indexOf(name), group: id, part, where: join(dir, id) });
    }
  }
  return { dir, layout: 'split-folders', classes, items, listingFiles: [], notImages };
}

/** The CSV of a csv-layout data set: the path itself, or the one CSV in the folder. */
function csvFile(path: string): string {
  if (!isDir(path)) return path;
  const found = labelCsvs(path);
  if (found.length !== 1) throw new Error(`data: ${path} (csv layout) must hold exactly one CSV with file and label columns, found ${found.length ? found.join(', ') : 'none'}; or pass the CSV itself as --data`);
  return join(path, found[0]);
}

function csvSource(path: string): DataSource {
  const file = csvFile(path);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`cannot read the data CSV ${file}: ${(err as Error).message}`);
  }
  const records = parseCsv(text, file);
  const col = columnIndices(records[0], ['file', 'label'] as const, file);
  const header = records[0].fields.map((f) => f.trim());
  const groupCol = header.indexOf('group');
  const splitCol = header.indexOf('split');
  const base = dirname(file);
  const classes: string[] = [];
  const items: SourceItem[] = [];
  const seen = new Map<string, number>();
  for (const { line, fields } of records.slice(1)) {
    const where = `${file} line ${line}`;
    if (fields.length !== header.length) throw new Error(`${where}: ${fields.length} fields, the header has ${header.length}`);
    const id = fields[col.file].trim();
    const name = fields[col.label].trim();
    if (!id) throw new Error(`${where}: empty file`);
    if (!name) throw new Error(`${where}: empty label for ${id}`);
    const earlier = seen.get(id);
    if (earlier !== undefined) throw new Error(`${where}: file ${id} already appears on line ${earlier}`);
    seen.set(id, line);
    const part = splitCol >= 0 ? fields[splitCol].trim() : '';
    if (part && !(SPLIT_NAMES as readonly string[]).includes(part)) throw new Error(`${where}: unknown split "${part}" for ${id} (expected ${SPLIT_NAMES.join(', ')} or empty)`);
    if (!classes.includes(name)) classes.push(name);
    const path = join(base, id);
    const exists = existsSync(path);
    if (exists && !isImageName(path)) throw new Error(`${where}: ${path} is not an image file (expected ${IMAGE_EXTENSIONS.join(', ')})`);
    items.push({
      id,
      file: exists ? path : null,
      label: classes.indexOf(name),
      group: groupCol >= 0 && fields[groupCol].trim() ? fields[groupCol].trim() : id,
      part: (part || null) as SplitName | null,
      where: exists ? `${where}: ${path}` : `${where}: no file ${path}`,
    });
  }
  if (items.length === 0) throw new Error(`${file}: no data rows`);
  const unknown = items.filter((item) => item.file === null);
  if (unknown.length) throw new Error(`${file}: ${unknown.length} listed file${unknown.length > 1 ? 's do' : ' does'} not exist: ${unknown.slice(0, 5).map((u) => u.where).join('; ')}${unknown.length > 5 ? '; ...' : ''}`);
  return { dir: file, layout: 'csv', classes, items, listingFiles: [file], notImages: [] };
}
