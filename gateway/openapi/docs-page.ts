/**
 * Server-rendered API reference built from the generated OpenAPI document: every operation with
 * its method, path, summary, parameters, request body and responses, then the shared schemas.
 * No JavaScript and no third-party assets: the page's CSP allows only its own stylesheet.
 */
import type { OpenApiDocument } from './document.ts';

/** The page's own CSP (API responses keep `default-src 'none'`). */
export const DOCS_CSP = "default-src 'none'; style-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

// Structural views of the parts of an OpenAPI 3.1 document the page reads.
interface Schema {
  readonly $ref?: string;
  readonly type?: string | readonly string[];
  readonly format?: string;
  readonly description?: string;
  readonly properties?: Readonly<Record<string, Schema>>;
  readonly required?: readonly string[];
  readonly items?: Schema;
  readonly enum?: readonly unknown[];
  readonly anyOf?: readonly Schema[];
  readonly oneOf?: readonly Schema[];
  readonly allOf?: readonly Schema[];
  readonly additionalProperties?: boolean | Schema;
}
interface Media {
  readonly schema?: Schema;
}
interface Parameter {
  readonly name: string;
  readonly in: string;
  readonly required?: boolean;
  readonly description?: string;
  readonly schema?: Schema;
}
interface Operation {
  readonly summary?: string;
  readonly description?: string;
  readonly parameters?: readonly Parameter[];
  readonly requestBody?: { readonly required?: boolean; readonly description?: string; readonly content?: Readonly<Record<string, Media>> };
  readonly responses?: Readonly<Record<string, { readonly description?: string; readonly content?: Readonly<Record<string, Media>> }>>;
}
interface DocView {
  readonly info: { readonly title: string; readonly version: string; readonly description?: string };
  readonly paths?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  readonly components?: { readonly schemas?: Readonly<Record<string, Schema>> };
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete', 'head', 'options'] as const;

const ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (ch) => ESCAPES[ch] ?? ch);
}

const anchor = (s: string): string => s.replace(/[^A-Za-z0-9_-]/g, '-');

function typeOf(s: Schema, depth: number): string {
  if (s.$ref !== undefined) {
    const name = s.$ref.slice(s.$ref.lastIndexOf('/') + 1);
    return `<a href="#schema-${anchor(name)}">${escapeHtml(name)}</a>`;
  }
  if (s.enum !== undefined) {
    const shown = s.enum.slice(0, 8).map((v) => escapeHtml(JSON.stringify(v)));
    return shown.join(' | ') + (s.enum.length > 8 ? ' | …' : '');
  }
  const union = s.anyOf ?? s.oneOf;
  if (union !== undefined) return union.map((u) => typeOf(u, depth)).join(' | ');
  if (s.allOf !== undefined) return s.allOf.map((u) => typeOf(u, depth)).join(' &amp; ');
  const types = Array.isArray(s.type) ? s.type : s.type === undefined ? [] : [s.type];
  if (types.includes('array')) return `${s.items === undefined ? 'unknown' : typeOf(s.items, depth)}[]`;
  if (types.includes('object') || s.properties !== undefined) {
    if (s.properties === undefined) {
      const extra = s.additionalProperties;
      return typeof extra === 'object' ? `{ [key]: ${typeOf(extra, depth + 1)} }` : 'object';
    }
    if (depth >= 2) return 'object';
    const required = new Set(s.required ?? []);
    const fields = Object.entries(s.properties).map(([k, v]) => `${escapeHtml(k)}${required.has(k) ? '' : '?'}: ${typeOf(v, depth + 1)}`);
    return `{ ${fields.join(', ')} }`;
  }
  const base = types.length > 0 ? types.join(' | ') : 'any';
  return escapeHtml(s.format === undefined ? base : `${base} (${s.format})`);
}

function contentList(content: Readonly<Record<string, Media>> | undefined): string {
  if (content === undefined) return '<span class="muted">no body</span>';
  return Object.entries(content)
    .map(([type, media]) => `<code>${escapeHtml(type)}</code> ${media.schema === undefined ? '' : `<span class="schema">${typeOf(media.schema, 0)}</span>`}`)
    .join('<br>');
}

function renderOperation(method: string, path: string, op: Operation): string {
  const id = `op-${method}-${anchor(path)}`;
  const parts = [`<section class="op" id="${id}">`, `<h2><span class="method ${method}">${method.toUpperCase()}</span> <code>${escapeHtml(path)}</code></h2>`];
  if (op.summary !== undefined) parts.push(`<p><strong>${escapeHtml(op.summary)}</strong></p>`);
  if (op.description !== undefined) parts.push(`<p class="text">${escapeHtml(op.description)}</p>`);
  if (op.parameters !== undefined && op.parameters.length > 0) {
    parts.push('<h3>Parameters</h3><table><tr><th>Name</th><th>In</th><th>Type</th><th>Description</th></tr>');
    for (const p of op.parameters) {
      const type = p.schema === undefined ? '' : typeOf(p.schema, 0);
      parts.push(
        `<tr><td><code>${escapeHtml(p.name)}</code>${p.required === true ? '' : '?'}</td><td>${escapeHtml(p.in)}</td><td class="schema">${type}</td><td class="text">${escapeHtml(p.description ?? '')}</td></tr>`,
      );
    }
    parts.push('</table>');
  }
  if (op.requestBody !== undefined) {
    parts.push(`<h3>Request body${op.requestBody.required === true ? ' (required)' : ''}</h3><p>${contentList(op.requestBody.content)}</p>`);
  }
  parts.push('<h3>Responses</h3><table><tr><th>Status</th><th>Description</th><th>Body</th></tr>');
  for (const [status, r] of Object.entries(op.responses ?? {})) {
    parts.push(`<tr><td><code>${escapeHtml(status)}</code></td><td class="text">${escapeHtml(r.description ?? '')}</td><td>${contentList(r.content)}</td></tr>`);
  }
  parts.push('</table></section>');
  return parts.join('');
}

function renderSchema(name: string, s: Schema): string {
  const parts = [`<section class="schema-def" id="schema-${anchor(name)}"><h2>${escapeHtml(name)}</h2>`];
  if (s.description !== undefined) parts.push(`<p class="text">${escapeHtml(s.description)}</p>`);
  if (s.properties !== undefined) {
    const required = new Set(s.required ?? []);
    parts.push('<table><tr><th>Field</th><th>Type</th><th>Description</th></tr>');
    for (const [k, v] of Object.entries(s.properties)) {
      parts.push(
        `<tr><td><code>${escapeHtml(k)}</code>${required.has(k) ? '' : '?'}</td><td class="schema">${typeOf(v, 1)}</td><td class="text">${escapeHtml(v.description ?? '')}</td></tr>`,
      );
    }
    parts.push('</table>');
  } else {
    parts.push(`<p class="schema">${typeOf(s, 0)}</p>`);
  }
  parts.push('</section>');
  return parts.join('');
}

export function renderDocsPage(document: OpenApiDocument, openapiPath: string, stylesheetPath: string): string {
  const doc = document as unknown as DocView;
  const ops: { method: string; path: string; op: Operation }[] = [];
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    for (const method of METHODS) {
      const op = item[method];
      if (op !== undefined && op !== null && typeof op === 'object') ops.push({ method, path, op });
    }
  }
  const title = escapeHtml(doc.info.title);
  const nav = ops
    .map(({ method, path, op }) => `<li><a href="#op-${method}-${anchor(path)}">${method.toUpperCase()} ${escapeHtml(path)}</a> <span class="muted">${escapeHtml(op.summary ?? '')}</span></li>`)
    .join('');
  const schemas = Object.entries(doc.components?.schemas ?? {}).map(([name, s]) => renderSchema(name, s));
  return [
    '<!doctype html><html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${title}</title><link rel="stylesheet" href="${escapeHtml(stylesheetPath)}"></head><body>`,
    `<header><h1>${title}</h1><p>Version ${escapeHtml(doc.info.version)} · machine-readable OpenAPI 3.1: <a href="${escapeHtml(openapiPath)}">${escapeHtml(openapiPath)}</a></p>`,
    doc.info.description === undefined ? '' : `<p class="text">${escapeHtml(doc.info.description)}</p>`,
    '</header><main>',
    `<nav><h2>Operations</h2><ul>${nav}</ul></nav>`,
    ...ops.map(({ method, path, op }) => renderOperation(method, path, op)),
    schemas.length > 0 ? `<h2 id="schemas">Schemas</h2>${schemas.join('')}` : '',
    '</main></body></html>',
  ].join('\n');
}
