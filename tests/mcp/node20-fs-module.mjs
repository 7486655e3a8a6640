// node20-fs-module.mjs - node:fs with globSync, for node20-fs.mjs.
import fs from 'node:fs';
import path from 'node:path';

export * from 'node:fs';
export default fs;

function toRegExp(pattern) {
  let re = '';
  for (const part of pattern.split('/')) {
    if (part === '**') { re += '(?:.*/)?'; continue; }
    re += part.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]') + '/';
  }
  return new RegExp(`^${re.replace(/\/$/, '')}$`);
}

export function globSync(pattern, options = {}) {
  const cwd = options.cwd ?? process.cwd();
  const re = toRegExp(String(pattern));
  if (!fs.existsSync(cwd)) return [];
  return fs.readdirSync(cwd, { recursive: true }).map(String)
    .filter((f) => re.test(f.split(path.sep).join('/')));
}
