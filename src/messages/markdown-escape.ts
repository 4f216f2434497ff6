// A back-office value placed in IO's markdown must read as the text it is: "DE_ROSSI", "Via *Roma*"
// or "[Paga qui](https://…)" must neither change the formatting nor become a link in an official
// message. The IO app parses markdown with @textlint/markdown-to-ast (CommonMark, remark-gfm),
// where a backslash before ASCII punctuation makes it literal and is itself not shown.

// Anywhere in a value: emphasis, code, links and images, autolinks and HTML, strikethrough, tables,
// escapes, and the "@" of an e-mail address (GFM makes a bare one a mailto: link).
const INLINE = /[\\`*_[\]()<~|@]/g;
// "&amp;" or "&#169;" would be read as the character they name.
const ENTITY = /&(?=#?[A-Za-z0-9]+;)/g;
// GFM makes a bare address a link: break "://" and a word-initial "www.".
const AUTOLINK = /(?<=[A-Za-z]):(?=\/\/)|(?<=(?:^|[^\p{L}\p{N}])www)\./giu;
// What opens a block where a line starts: a heading, a quote, a list item, a setext underline or
// a break. A value may land at a line's (or a list item's) start, so its first line counts too.
const LINE_START = /^([ \t]*)([#>+\-=]|\d{1,9}(?=\.))/gm;
// A value is escaped once per message of a backfill: each rule runs only when a plain test shows
// it has something to do (most values are dates, amounts and names with at most a "." or ":").
const HAS_INLINE = /[\\`*_[\]()<~|@]/;
const BLOCK_MARK = /^[ \t]*(?:[#>+\-=]|\d{1,9}\.)/;

/** `value` with every character CommonMark/GFM would read as markup backslash-escaped. */
export function escapeMarkdown(value: string): string {
  let out = HAS_INLINE.test(value) ? value.replace(INLINE, '\\$&') : value;
  if (out.includes('&')) out = out.replace(ENTITY, '\\&');
  if (out.includes('://') || /www\./i.test(out)) out = out.replace(AUTOLINK, '\\$&');
  const lines = out.includes('\n');
  // The value's own line breaks must not indent its next line into a code block.
  if (lines) out = out.replace(/\n[ \t]+/g, '\n');
  if (lines || BLOCK_MARK.test(out)) {
    out = out.replace(LINE_START, (_, indent: string, mark: string) => (/\d/.test(mark) ? `${indent}${mark}\\` : `${indent}\\${mark}`));
  }
  return out;
}
