import { describe, expect, it } from 'vitest';
import { CLASSES, parseMetadata } from '../src/data/index.js';
import { csvText, fixtureRows, HEADER } from './data-fixtures.js';

describe('metadata CSV', () => {
  it('reads rows, labels in CLASSES order and line numbers', () => {
    const rows = parseMetadata(csvText(fixtureRows(14)), 'meta.csv');
    expect(rows).toHaveLength(14);
    expect(rows[0]).toEqual({ lesionId: 'HAM_0000000', imageId: 'ISIC_0024306', dx: 'akiec', label: 0, line: 2 });
    expect(rows.map((r) => r.label)).toEqual(rows.map((r) => CLASSES.indexOf(r.dx)));
    expect(rows[13].line).toBe(15);
    expect(CLASSES).toEqual(['akiec', 'bcc', 'bkl', 'df', 'mel', 'nv', 'vasc']);
  });

  it('takes columns in any order, quoted fields, CRLF, a BOM and a limit', () => {
    const text = '\ufeffimage_id,"dx",extra,lesion_id\r\nISIC_1,nv,"a, ""quoted"" field",HAM_1\r\n\r\nISIC_2,mel,x,HAM_2\r\nISIC_3,df,y,HAM_3\r\n';
    const rows = parseMetadata(text, 'm.csv');
    expect(rows.map((r) => [r.imageId, r.dx, r.lesionId, r.line])).toEqual([
      ['ISIC_1', 'nv', 'HAM_1', 2],
      ['ISIC_2', 'mel', 'HAM_2', 4],
      ['ISIC_3', 'df', 'HAM_3', 5],
    ]);
    expect(parseMetadata(text, 'm.csv', 2)).toHaveLength(2);
  });

  it('names the file, line and problem for bad input', () => {
    expect(() => parseMetadata('lesion_id,image_id,diagnosis\nHAM_1,ISIC_1,nv\n', 'x/meta.csv')).toThrow(
      'x/meta.csv line 1: missing column dx (header has lesion_id, image_id, diagnosis)',
    );
    expect(() => parseMetadata('image_id\nISIC_1\n', 'm.csv')).toThrow('m.csv line 1: missing columns lesion_id, dx');
    expect(() => parseMetadata('', 'm.csv')).toThrow('m.csv: empty file');
    expect(() => parseMetadata(`${HEADER}\n`, 'm.csv')).toThrow('m.csv: no data rows');
    const good = 'HAM_1,ISIC_1,nv,histo,50.0,male,back';
    expect(() => parseMetadata(`${HEADER}\n${good}\nHAM_2,ISIC_2,melanoma,histo,50.0,male,back\n`, 'm.csv')).toThrow(
      'm.csv line 3: unknown dx "melanoma" (expected one of akiec, bcc, bkl, df, mel, nv, vasc)',
    );
    expect(() => parseMetadata(`${HEADER}\n${good}\n${good}\n`, 'm.csv')).toThrow('m.csv line 3: image_id ISIC_1 already appears on line 2');
    expect(() => parseMetadata(`${HEADER}\nHAM_1,ISIC_1,nv\n`, 'm.csv')).toThrow('m.csv line 2: 3 fields, the header has 7');
    expect(() => parseMetadata(`${HEADER}\nHAM_1,,nv,histo,50.0,male,back\n`, 'm.csv')).toThrow('m.csv line 2: empty image_id');
    expect(() => parseMetadata(`${HEADER}\nHAM_1,"ISIC_1,nv\n`, 'm.csv')).toThrow('m.csv line 2: unterminated quoted field');
  });
});
