// Copies the pinned Chart.js build (package-lock.json) into static/ with its licences, for the staff
// dashboard: served by the site itself, never from a CDN. Run `npm ci && npm run vendor` in frontend/
// after changing the version in package.json.
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(dirname(fileURLToPath(import.meta.url)));
const modules = join(here, "node_modules");
const target = join(here, "static", "frontend", "vendor", "chart.js");
mkdirSync(target, { recursive: true });

const { version } = JSON.parse(readFileSync(join(modules, "chart.js", "package.json"), "utf8"));
// The source map is not shipped: its reference is dropped so the hashed static storage needs no .map.
const bundle = readFileSync(join(modules, "chart.js", "dist", "chart.umd.min.js"), "utf8").replace(
  /\n\/\/# sourceMappingURL=\S+\s*$/,
  "\n",
);
writeFileSync(join(target, "chart.umd.min.js"), bundle);
copyFileSync(join(modules, "chart.js", "LICENSE.md"), join(target, "LICENSE.md"));
// The bundle includes @kurkle/color (MIT): its licence travels with it.
copyFileSync(join(modules, "@kurkle", "color", "LICENSE.md"), join(target, "LICENSE-kurkle-color.md"));
writeFileSync(join(target, "VERSION"), `chart.js ${version} (dist/chart.umd.min.js, from frontend/package-lock.json)\n`);
console.log(`vendored chart.js ${version} into ${target}`);
