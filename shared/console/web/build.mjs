// Bundles the console into ../dist: one script and one style sheet named by their content's
// hash, and index.html naming them. Run by the Makefile's console target (`make console`).
import * as esbuild from "esbuild";
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, basename } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "..", "dist");
mkdirSync(out, { recursive: true });
for (const f of readdirSync(out)) if (f !== "README") rmSync(join(out, f), { recursive: true });

const result = await esbuild.build({
  absWorkingDir: here,
  entryPoints: ["src/main.tsx"],
  bundle: true,
  minify: true,
  format: "esm",
  target: ["es2022"],
  jsx: "automatic",
  jsxImportSource: "preact",
  entryNames: "app-[hash]",
  outdir: out,
  metafile: true,
  legalComments: "none",
  logLevel: "warning",
});
const names = Object.keys(result.metafile.outputs).map((p) => basename(p));
const js = names.find((n) => n.endsWith(".js"));
const css = names.find((n) => n.endsWith(".css"));
if (!js || !css) throw new Error(`esbuild wrote ${names.join(", ")}; want a .js and a .css`);
// A favicon of its own, so the browser asks this origin for no /favicon.ico (no key there).
const icon = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#0b5cad"/><path d="M3 4l2 8 3-6 3 6 2-8" stroke="#fff" stroke-width="1.6" fill="none"/></svg>`;
const { createHash } = await import("node:crypto");
const iconName = `icon-${createHash("sha256").update(icon).digest("hex").slice(0, 8).toUpperCase()}.svg`;
writeFileSync(join(out, iconName), icon);
// Paths are relative: the page is at <stage>/console, its assets at <stage>/console/<file>.
writeFileSync(
  join(out, "index.html"),
  `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>wagate console</title>
<link rel="icon" href="console/${iconName}" type="image/svg+xml">
<link rel="stylesheet" href="console/${css}">
<script type="module" src="console/${js}"></script>
</head>
<body>
<noscript>The wagate console needs JavaScript.</noscript>
<div id="app"></div>
</body>
</html>
`,
);
console.log(`console: ${[js, css, iconName].join(", ")} in ${out}`);
