/** The docs page's stylesheet, served from /docs/style.css (the page's CSP allows only 'self' styles). */
export const DOCS_CSS = `
:root { color-scheme: light dark; --fg: #1b1f24; --muted: #57606a; --line: #d0d7de; --bg: #fff; --code: #f6f8fa; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6edf3; --muted: #9198a1; --line: #30363d; --bg: #0d1117; --code: #161b22; } }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, sans-serif; color: var(--fg); background: var(--bg); }
header, main { max-width: 60rem; margin: 0 auto; padding: 1rem 1.5rem; }
header { border-bottom: 1px solid var(--line); }
h1 { margin: 0 0 .25rem; font-size: 1.6rem; }
h2 { font-size: 1.15rem; margin: 0 0 .5rem; }
h3 { font-size: .95rem; margin: 1rem 0 .25rem; color: var(--muted); }
code, .schema { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: .9em; }
.schema { background: var(--code); padding: .1rem .3rem; border-radius: 4px; }
.text { white-space: pre-line; }
.muted { color: var(--muted); }
nav ul { list-style: none; padding: 0; columns: 2; }
section.op, section.schema-def { border: 1px solid var(--line); border-radius: 8px; padding: 1rem; margin: 1rem 0; }
.method { display: inline-block; min-width: 4.2rem; text-align: center; font-weight: 700; font-size: .8rem; padding: .1rem .4rem; border-radius: 4px; color: #fff; background: #57606a; }
.method.get { background: #0969da; } .method.post { background: #1a7f37; } .method.put, .method.patch { background: #9a6700; } .method.delete { background: #cf222e; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; vertical-align: top; padding: .3rem .5rem; border-top: 1px solid var(--line); }
th { font-size: .85rem; color: var(--muted); }
`;
