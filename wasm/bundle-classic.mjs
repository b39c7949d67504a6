// bundle-classic.mjs — turns the ES-module graph of js-glue (entry syncore.js) into one
// classic script for importScripts() and <script>: each module becomes a function whose
// exports are returned as getters, `import.meta.url` becomes the classic script's own URL
// (so the wasm is still found next to it, SPEC §8), and the entry's exports land on
// self[globalName]. Handles the module syntax js-glue uses (static relative imports,
// named/default/namespace imports, export declarations, export lists, export-from); no
// dynamic import(), no top-level await. No bundler download needed.
// Usage: node wasm/bundle-classic.mjs <entry.js> <globalName> <out.js>
//        node wasm/bundle-classic.mjs --esm <entry.js> <out.js>   the same graph as ONE ES module
//        (the entry's exports exported; import.meta.url is its own): one request instead of a
//        waterfall of ten, which is a third of a cold open's time in a new worker.

import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';

const ESM = process.argv[2] === '--esm';
const [entryArg, globalName, outArg] = ESM ? [process.argv[3], null, process.argv[4]] : process.argv.slice(2);
if (!entryArg || !(globalName || ESM) || !outArg) {
  console.error('usage: node wasm/bundle-classic.mjs <entry.js> <globalName> <out.js> | --esm <entry.js> <out.js>');
  process.exit(2);
}

const modules = new Map();   // absolute path → transformed body
const exportNames = new Map();   // absolute path → the names it exports
const order = [];

function key(file) { return relative(process.cwd(), file); }

function bindings(clause, source) {
  const out = [];
  let rest = clause.trim();
  const ns = /^\*\s+as\s+(\w+)$/.exec(rest);
  if (ns) return [`const ${ns[1]} = ${source};`];
  const def = /^([\w$]+)\s*(?:,\s*([\s\S]*))?$/.exec(rest);
  if (def) { out.push(`const ${def[1]} = ${source}.default;`); rest = (def[2] || '').trim(); }
  const nsRest = /^\*\s+as\s+(\w+)$/.exec(rest);
  if (nsRest) { out.push(`const ${nsRest[1]} = ${source};`); return out; }
  if (rest.startsWith('{')) {
    const names = rest.slice(1, rest.lastIndexOf('}')).split(',').map((s) => s.trim()).filter(Boolean)
      .map((s) => s.replace(/^([\w$]+)\s+as\s+([\w$]+)$/, '$1: $2'));
    out.push(`const { ${names.join(', ')} } = ${source};`);
  }
  return out;
}

function load(file) {
  if (modules.has(file)) return;
  modules.set(file, null);
  let text = readFileSync(file, 'utf8');
  const exportsList = [];
  const deps = [];
  const dep = (spec) => {
    if (!spec.startsWith('.')) throw new Error(`${key(file)}: only relative imports can be bundled (${spec})`);
    const target = resolve(dirname(file), spec);
    deps.push(target);
    return `__m[${JSON.stringify(key(target))}]`;
  };
  text = text.replace(/^export\s*\{([^}]*)\}\s*from\s*['"]([^'"]+)['"];?/gm, (_, list, spec) => {
    const source = dep(spec);
    for (const item of list.split(',').map((s) => s.trim()).filter(Boolean)) {
      const [name, alias] = item.split(/\s+as\s+/);
      exportsList.push([alias || name, `${source}.${name}`]);
    }
    return '';
  });
  text = text.replace(/^import\s+([\s\S]*?)\s+from\s+['"]([^'"]+)['"];?/gm, (_, clause, spec) => bindings(clause, dep(spec)).join(' '));
  text = text.replace(/^import\s+['"]([^'"]+)['"];?/gm, (_, spec) => { dep(spec); return ''; });
  text = text.replace(/\bimport\.meta\.url\b/g, '__scriptUrl');
  if (/\bimport\s*\(/.test(text.replace(/\/\/.*$/gm, ''))) throw new Error(`${key(file)}: dynamic import() cannot be bundled`);
  text = text.replace(/^export\s+default\s+(async\s+function|function|class)\s+([\w$]+)/gm, (_, kind, name) => {
    exportsList.push(['default', name]);
    return `${kind} ${name}`;
  });
  text = text.replace(/^export\s+default\s+/gm, () => { exportsList.push(['default', '__default']); return 'const __default = '; });
  text = text.replace(/^export\s+(async\s+function\*?|function\*?|class|const|let|var)\s+([\w$]+)/gm, (_, kind, name) => {
    exportsList.push([name, name]);
    return `${kind} ${name}`;
  });
  text = text.replace(/^export\s*\{([^}]*)\};?/gm, (_, list) => {
    for (const item of list.split(',').map((s) => s.trim()).filter(Boolean)) {
      const [name, alias] = item.split(/\s+as\s+/);
      exportsList.push([alias || name, name]);
    }
    return '';
  });
  for (const d of deps) load(d);
  exportNames.set(file, exportsList.map(([name]) => name));
  const getters = exportsList.map(([name, expr]) => `get ${JSON.stringify(name)}() { return ${expr}; }`).join(', ');
  modules.set(file, `${text}\nreturn { ${getters} };`);
  order.push(file);
}

const entry = resolve(entryArg);
load(entry);

const ownUrl = `(function () {
  if (typeof document !== 'undefined' && document.currentScript && document.currentScript.src) return document.currentScript.src;
  try { throw new Error(); } catch (e) {
    var m = /((?:https?|file):\\/\\/[^\\s()]+?\\.js)(?::\\d+)*/.exec(String(e.stack || ''));
    if (m) return m[1];
  }
  return self.location.href;
})()`;

let out = `// ${outArg.split('/').pop()} — generated by wasm/bundle-classic.mjs from ${key(entry)}; do not edit.\n`;
out += ESM ? 'const __scriptUrl = import.meta.url;\nconst __m = {};\n' : `(function () {\n'use strict';\nvar __scriptUrl = ${ownUrl};\nvar __m = {};\n`;
for (const file of order) {
  out += `__m[${JSON.stringify(key(file))}] = (function () {\n${modules.get(file)}\n})();\n`;
}
if (ESM) {
  const names = exportNames.get(entry);
  if (names.includes('default')) throw new Error(`${key(entry)}: a default export cannot be re-exported from the bundle`);
  out += `export const { ${names.join(', ')} } = __m[${JSON.stringify(key(entry))}];\n`;
} else {
  out += `self[${JSON.stringify(globalName)}] = __m[${JSON.stringify(key(entry))}];\n})();\n`;
}
writeFileSync(outArg, out);
console.log(`bundle-classic${ESM ? ' --esm' : ''}: ${order.length} modules → ${outArg} (${out.length} bytes)`);
