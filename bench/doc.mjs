// doc.mjs — writes one "## <title>" section of docs/BENCHMARKS.md, replacing the section
// of that title if present (up to the next "## "), else appending it. Shared by the
// client and server benchmarks so each rewrites only its own section.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function writeBenchmarkSection(root, title, section) {
  const docPath = join(root, 'docs/BENCHMARKS.md');
  let doc = existsSync(docPath) ? readFileSync(docPath, 'utf8') : '# Benchmarks\n\n';
  const start = doc.search(new RegExp(`^## ${title}\\s*$`, 'm'));
  if (start >= 0) {
    const rest = doc.slice(start + 1);
    const next = rest.search(/^## /m);
    doc = doc.slice(0, start) + section + (next >= 0 ? '\n' + rest.slice(next) : '');
  } else {
    doc = doc.replace(/\s*$/, '\n\n') + section;
  }
  writeFileSync(docPath, doc);
  console.log(`wrote the ${title} section of ${docPath}`);
}
