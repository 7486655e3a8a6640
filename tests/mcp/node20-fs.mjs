// node20-fs.mjs - lets the conformance suite run on Debian's Node 20.
//
// The suite imports fs.globSync (Node 22) at load time, though it only uses
// it to gather result files. Registered with `node --import`, this resolve
// hook hands the suite's own `fs` imports a module that is node:fs plus a
// small globSync ("**/" and "*" only, which is all the suite asks); every
// other importer gets the real node:fs.
import { register } from 'node:module';

if (!('globSync' in (await import('node:fs'))))
  register(new URL(import.meta.url).href, import.meta.url);

const shim = new URL('./node20-fs-module.mjs', import.meta.url).href;
export async function resolve(specifier, context, next) {
  if ((specifier === 'fs' || specifier === 'node:fs') &&
      context.parentURL?.includes('/@modelcontextprotocol/conformance/'))
    return { url: shim, shortCircuit: true };
  return next(specifier, context);
}
