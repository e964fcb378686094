/** HAM10000_metadata.csv: parsing and validation. */
import { readFileSync } from 'node:fs';
import { CLASSES, type ClassName } from './classes.js';
import { columnIndices, parseCsv } from './csv.js';

export { CLASSES, type ClassName };

export const METADATA_FILE = 'HAM10000_metadata.csv';

export interface MetadataRow {
  lesionId: string;
  imageId: string;
  dx: ClassName;
  /** Index of dx in CLASSES. */
  label: number;
  /** 1-based line in the CSV, for messages. */
  line: number;
}

const REQUIRED = ['lesion_id', 'image_id', 'dx'] as const;

/** Parses the metadata CSV text; `file` names it in errors. Throws on missing columns, unknown dx, empty or duplicate ids. */
export function parseMetadata(text: string, file: string, limit = Infinity): MetadataRow[] {
  const records = parseCsv(text, file);
  const col = columnIndices(records[0], REQUIRED, file);
  const width = records[0].fields.length;
  const rows: MetadataRow[] = [];
  const seen = new Map<string, number>();
  for (let r = 1; r < records.length && rows.length < limit; r++) {
    const { line, fields } = records[r];
    if (fields.length !== width) throw new Error(`${file} line ${line}: ${fields.length} fields, the header has ${width}`);
    const lesionId = fields[col.lesion_id].trim();
    const imageId = fields[col.image_id].trim();
    const dx = fields[col.dx].trim();
    if (!lesionId) throw new Error(`${file} line ${line}: empty lesion_id`);
    if (!imageId) throw new Error(`${file} line ${line}: empty image_id`);
    const label = (CLASSES as readonly string[]).indexOf(dx);
    if (label < 0) throw new Error(`${file} line ${line}: unknown dx "${dx}" (expected one of ${CLASSES.join(', ')})`);
    const earlier = seen.get(imageId);
    if (earlier !== undefined) throw new Error(`${file} line ${line}: image_id ${imageId} already appears on line ${earlier}`);
    seen.set(imageId, line);
    rows.push({ lesionId, imageId, dx: dx as ClassName, label, line });
  }
  if (rows.length === 0) throw new Error(`${file}: no data rows`);
  return rows;
}

/** Reads and parses a metadata CSV file; the first `limit` rows only when given. */
export function readMetadata(file: string, limit = Infinity): MetadataRow[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`cannot read the HAM10000 metadata ${file}: ${(err as Error).message}`);
  }
  return parseMetadata(text, file, limit);
}
