/** HAM10000's seven diagnoses, its own class list. No Node imports: the web page reads legacy checkpoints with it. */

/** The seven diagnoses in label order: label i is CLASSES[i]. */
export const CLASSES = ['akiec', 'bcc', 'bkl', 'df', 'mel', 'nv', 'vasc'] as const;
export type ClassName = (typeof CLASSES)[number];
