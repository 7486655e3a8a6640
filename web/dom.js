// dom.js - a few helpers for building elements from script. The page's CSP
// allows no inline markup handlers or style attributes, so everything the
// page shows is built with these and styled by classes from koto.css.

// el('td', { className: 'num', title: 'x' }, 'text', childNode, ...)
// Properties go onto the element as properties (className, textContent,
// type, value, disabled, ...) except data-* and aria-*, which are attributes.
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('data-') || k.startsWith('aria-') || k === 'role' || k === 'for') node.setAttribute(k, v);
    else node[k] = v;
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    node.append(c instanceof Node ? c : String(c));
  }
}

// Replaces every child of node.
export function fill(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];

// Sets textContent only when it changed, so a reading that repeats the last
// one does not disturb a screen reader or a text selection.
export function setText(node, text) {
  if (node && node.textContent !== text) node.textContent = text;
}

// A horizontal bar for a percentage. The width goes through the CSSOM
// (element.style), which the CSP allows; a style="" attribute would not be.
export function bar(pct, { warn = null, label = '' } = {}) {
  const fillNode = el('span', { className: 'bar-fill' });
  const node = el('span', { className: 'bar', role: 'img', 'aria-label': label }, fillNode);
  setBar(node, pct, warn);
  return node;
}

export function setBar(node, pct, warn = null) {
  const v = typeof pct === 'number' && Number.isFinite(pct) ? Math.max(0, Math.min(100, pct)) : 0;
  node.firstChild.style.width = `${v}%`;
  node.classList.toggle('unknown', !(typeof pct === 'number' && Number.isFinite(pct)));
  node.classList.toggle('over', warn !== null && pct > warn);
  node.classList.toggle('near', warn !== null && pct <= warn && pct > warn * 0.85);
}
