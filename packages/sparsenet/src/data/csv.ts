/** A small RFC 4180 CSV reader and writer, shared by the metadata and split.csv code. */

export interface CsvRecord {
  /** 1-based line number where the record starts, for error messages. */
  line: number;
  fields: string[];
}

/** Parses CSV text (quoted fields, "" escapes, CRLF or LF, optional BOM); blank lines are dropped. */
export function parseCsv(text: string, file: string): CsvRecord[] {
  const records: CsvRecord[] = [];
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let line = 1;
  const n = text.length;
  while (i < n) {
    const start = line;
    const fields: string[] = [];
    for (;;) {
      let value = '';
      if (text[i] === '"') {
        i++;
        for (;;) {
          if (i >= n) throw new Error(`${file} line ${start}: unterminated quoted field`);
          const ch = text[i];
          if (ch === '"') {
            if (text[i + 1] === '"') {
              value += '"';
              i += 2;
              continue;
            }
            i++;
            break;
          }
          if (ch === '\n') line++;
          value += ch;
          i++;
        }
        if (i < n && text[i] !== ',' && text[i] !== '\n' && text[i] !== '\r') {
          throw new Error(`${file} line ${line}: unexpected text after a closing quote`);
        }
      } else {
        let j = i;
        while (j < n && text[j] !== ',' && text[j] !== '\n' && text[j] !== '\r') j++;
        value = text.slice(i, j);
        i = j;
      }
      fields.push(value);
      if (text[i] === ',') {
        i++;
        continue;
      }
      break;
    }
    if (text[i] === '\r') i++;
    if (text[i] === '\n') i++;
    line++;
    if (!(fields.length === 1 && fields[0] === '')) records.push({ line: start, fields });
  }
  return records;
}

/** Quotes a field only when it needs it. */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/** Maps required column names to their indices in a header record, or throws naming the missing ones. */
export function columnIndices<K extends string>(header: CsvRecord | undefined, required: readonly K[], file: string): Record<K, number> {
  if (!header) throw new Error(`${file}: empty file (expected a header with columns ${required.join(', ')})`);
  const names = header.fields.map((f) => f.trim());
  const missing = required.filter((name) => !names.includes(name));
  if (missing.length > 0) {
    throw new Error(
      `${file} line ${header.line}: missing column${missing.length > 1 ? 's' : ''} ${missing.join(', ')} ` +
        `(header has ${names.join(', ')})`,
    );
  }
  const out = {} as Record<K, number>;
  for (const name of required) out[name] = names.indexOf(name);
  return out;
}
