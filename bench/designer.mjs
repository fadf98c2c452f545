// Designer benchmarks in Debian's Chromium against a running Flowdeck (see bench/designer.sh):
//   open:  a generated 500-node workflow, from navigation to an interactive canvas (hydrated, zoomed
//          to fit, the nodes in view drawn, a click selects) — target < 1 s
//   drag:  one node dragged across a 1,000-node / 1,500-edge canvas; frame deltas from
//          requestAnimationFrame — target p95 < 16.7 ms (one frame at 60 Hz)
// The canvas draws only what the viewport shows, so each line says how many nodes and edges were drawn.
//   save:  the 500-node graph saved over HTTP on loopback, 30 times — target < 100 ms
// Usage: node bench/designer.mjs http://127.0.0.1:PORT
import { createRequire } from 'node:module';

// Playwright comes with the browser tests' packages.
const { chromium } = createRequire(new URL('../end2end/package.json', import.meta.url))('playwright-core');

const base = process.argv[2];
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const fmt = (x) => x.toFixed(1);
/** The id of a node drawn wholly inside the canvas (big graphs are wider than the screen even at 25 %). */
const visibleNode = (page) =>
  page.evaluate(() => {
    const c = document.querySelector('.canvas').getBoundingClientRect();
    for (const n of document.querySelectorAll('.node')) {
      const r = n.getBoundingClientRect();
      if (r.left > c.left + 20 && r.right < c.right - 240 && r.top > c.top + 20 && r.bottom < c.bottom - 160) return n.dataset.node;
    }
    return null;
  });
const uuid = (n) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;

/** `count` nodes in columns of 20; each node i > 0 gets edges from up to `fanIn` nodes of the previous column. */
function graph(count, edgeCount) {
  const nodes = [];
  for (let i = 0; i < count; i++) {
    const col = Math.floor(i / 20);
    const row = i % 20;
    nodes.push(
      i === 0
        ? { id: uuid(i + 1), name: 'Start', x: 0, y: 0, kind: 'manual', config: { input_hint: '' } }
        : {
            id: uuid(i + 1), name: `Step ${i}`, x: col * 280, y: row * 100, kind: 'http',
            config: { method: 'GET', url: `https://api.example.com/items/${i}`, headers: [], body: '', timeout_secs: 30 },
          },
    );
  }
  const edges = [];
  const seen = new Set();
  let k = 0;
  for (let i = 1; edges.length < edgeCount && k < edgeCount * 4; k++) {
    const target = 1 + (k % (count - 1));
    const col = Math.floor(target / 20);
    const source = col === 0 ? 0 : (col - 1) * 20 + ((target + Math.floor(k / count) * 7) % 20);
    const key = `${source}-${target}`;
    if (source === target || seen.has(key) || source >= count) continue;
    seen.add(key);
    edges.push({ id: uuid(100000 + i++), source: uuid(source + 1), target: uuid(target + 1), condition: null, is_default: false });
  }
  return { nodes, edges };
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const context = await browser.newContext({ baseURL: base, viewport: { width: 1600, height: 1000 } });
const api = context.request;
const setup = await api.post('/api/auth/setup', {
  form: { name: 'Bench', email: 'bench@example.com', password: 'benchmark-password', workspace_name: 'Bench' },
  maxRedirects: 0,
});
const ws = setup.headers()['location'].replace('/w/', '');

async function workflow(name, g) {
  const id = await (await api.post('/api/workflows/create', { form: { workspace_id: ws, name, description: '' } })).json();
  const res = await api.post('/api/workflows/save', { data: { workspace_id: ws, workflow_id: id, version: 1, graph: g } });
  if (!res.ok()) throw new Error(`save: ${res.status()} ${await res.text()}`);
  return id;
}

// Save: 30 saves of a 500-node graph (each carries the version the previous one returned).
const g500 = graph(500, 700);
const saveId = await workflow('Save 500', g500);
const saves = [];
let version = 2;
for (let i = 0; i < 30; i++) {
  const t = performance.now();
  const res = await api.post('/api/workflows/save', { data: { workspace_id: ws, workflow_id: saveId, version, graph: g500 } });
  saves.push(performance.now() - t);
  version = (await res.json()).version;
}
console.log(`save 500 nodes / 700 edges (HTTP, loopback, n=30): p50 ${fmt(pct(saves, 50))} ms, p95 ${fmt(pct(saves, 95))} ms, max ${fmt(Math.max(...saves))} ms`);

const drawn = (page) => page.evaluate(() => [document.querySelectorAll('.node').length, document.querySelectorAll('g.edge').length]);
/** Hydrated and zoomed to fit (the minimap has every node and the view has moved from its default). */
const ready = (page, count) =>
  page.waitForFunction((count) => document.body.hasAttribute('data-hydrated')
    && document.querySelectorAll('rect.minimap-node').length === count
    && document.querySelector('[data-testid=zoom]')?.textContent !== '100 %', count);

// Open: navigation → hydrated, zoomed to fit, and a click on a node selects it. Best of a warm-up and 5 runs reported as median.
const openId = await workflow('Open 500', g500);
const page = await context.newPage();
const opens = [];
for (let i = 0; i < 6; i++) {
  const t = performance.now();
  await page.goto(`/w/${ws}/workflows/${openId}`);
  await ready(page, 500);
  await page.locator(`.node[data-node="${await visibleNode(page)}"] .node-name`).click();
  await page.locator('.node.selected').waitFor();
  if (i > 0) opens.push(performance.now() - t);
}
const [openNodes, openEdges] = await drawn(page);
console.log(`open 500 nodes to an interactive canvas (${openNodes} nodes / ${openEdges} edges in view, n=5): median ${fmt(pct(opens, 50))} ms, max ${fmt(Math.max(...opens))} ms`);

// Drag: 1,000 nodes and 1,500 edges at the zoom-to-fit level (25 %: a third of the graph is in view).
const dragId = await workflow('Drag 1000', graph(1000, 1500));
await page.goto(`/w/${ws}/workflows/${dragId}`);
await ready(page, 1000);
const [nodesDrawn, edgesDrawn] = await drawn(page);
const node = page.locator(`.node[data-node="${await visibleNode(page)}"] .node-name`);
const box = await node.boundingBox();
/** Frame deltas (ms) while `gesture` runs, from requestAnimationFrame. */
async function frameTimes(gesture) {
  await page.evaluate(() => {
    window.__frames = [];
    let last = performance.now();
    const tick = (now) => {
      window.__frames.push(now - last);
      last = now;
      if (window.__recording) requestAnimationFrame(tick);
    };
    window.__recording = true;
    requestAnimationFrame(tick);
  });
  await gesture();
  return page.evaluate(() => {
    window.__recording = false;
    return window.__frames.slice(2);
  });
}
// rAF deltas are whole vsync intervals (16.7 ms at 60 Hz, give or take timer jitter): a frame
// longer than 1.5 intervals is a dropped one.
const report = (what, frames) =>
  console.log(`${what} (${frames.length} frames): p50 ${fmt(pct(frames, 50))} ms, p95 ${fmt(pct(frames, 95))} ms, max ${fmt(Math.max(...frames))} ms, dropped ${frames.filter((f) => f > 25).length}`);

const dragFrames = await frameTimes(async () => {
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.down();
  for (let i = 1; i <= 240; i++) {
    await page.mouse.move(box.x + box.width / 2 + i * 2, box.y + box.height / 2 + Math.sin(i / 10) * 60);
  }
  await page.mouse.up();
});
report(`drag on 1000 nodes / 1500 edges (${nodesDrawn} / ${edgesDrawn} in view)`, dragFrames);

// Pan: the background dragged sideways, so nodes and edges enter and leave the view.
const c = await page.locator('.canvas').boundingBox();
const panFrames = await frameTimes(async () => {
  await page.mouse.move(c.x + c.width - 40, c.y + 15);
  await page.mouse.down();
  for (let i = 1; i <= 120; i++) await page.mouse.move(c.x + c.width - 40 - i * 6, c.y + 15);
  await page.mouse.up();
});
report('pan across 1000 nodes', panFrames);
await browser.close();
