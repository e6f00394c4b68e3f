// The map of the town's grids: SVG drawn from the active geography (GET /v1/geography; no
// tile server, since a town's intranet has no internet). Each grid is shaded by its open
// or overdue cases in the view's window and filter; hovering shows its figures; a click
// selects it. Open cases with a position are points, clustered when dense.
import { count, percent, t } from './i18n.js';

const SVG = 'http://www.w3.org/2000/svg';
const WIDTH = 800;
const CLUSTER_PX = 18;  // points closer than this on screen are drawn as one

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'dataset') Object.assign(node.dataset, v);
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c);
  return node;
}

// The rings of a Polygon or MultiPolygon geometry, as lists of [lon, lat].
function rings(geometry) {
  if (geometry?.type === 'Polygon') return geometry.coordinates;
  if (geometry?.type === 'MultiPolygon') return geometry.coordinates.flat();
  return [];
}

// An equirectangular projection fitted to the features, with longitude scaled by the
// cosine of the middle latitude so that a town's shapes keep their proportions.
function projection(features) {
  let south = Infinity, north = -Infinity, west = Infinity, east = -Infinity;
  for (const f of features) {
    for (const ring of rings(f.geometry)) {
      for (const [lon, lat] of ring) {
        south = Math.min(south, lat); north = Math.max(north, lat);
        west = Math.min(west, lon); east = Math.max(east, lon);
      }
    }
  }
  const k = Math.cos(((south + north) / 2) * Math.PI / 180);
  const spanX = Math.max((east - west) * k, 1e-9), spanY = Math.max(north - south, 1e-9);
  const scale = WIDTH / spanX;
  const height = Math.max(1, Math.round(spanY * scale));
  return { height, at: (lon, lat) => [(lon - west) * k * scale, (north - lat) * scale] };
}

function pathOf(geometry, at) {
  return rings(geometry).map((ring) => ring.map(([lon, lat], i) => {
    const [x, y] = at(lon, lat);
    return `${i ? 'L' : 'M'}${x.toFixed(1)},${y.toFixed(1)}`;
  }).join('') + 'Z').join('');
}

// Points that fall in the same CLUSTER_PX cell are one cluster at their mean position.
function clusters(points, at) {
  const cells = new Map();
  for (const p of points) {
    const [x, y] = at(p.lon, p.lat);
    const key = `${Math.floor(x / CLUSTER_PX)},${Math.floor(y / CLUSTER_PX)}`;
    const c = cells.get(key) ?? { x: 0, y: 0, cases: [] };
    c.x += x; c.y += y; c.cases.push(p.case_id);
    cells.set(key, c);
  }
  return [...cells.values()].map((c) => ({ x: c.x / c.cases.length, y: c.y / c.cases.length, cases: c.cases }));
}

function figuresText(feature, row) {
  const p = feature.properties;
  const lines = [`${p.grid}${p.name ? ` ${p.name}` : ''} · ${p.village}`];
  if (p.worker) lines.push(`${t('worker')} ${p.worker}`);
  lines.push(`${t('reports')} ${count(row?.total ?? 0)} · ${t('open')} ${count(row?.open ?? 0)} · ` +
             `${t('overdue_open')} ${count(row?.overdue_open ?? 0)}`);
  lines.push(`${t('closure_rate')} ${percent(row?.closure_rate ?? null)} · ${t('on_time_rate')} ${percent(row?.on_time_rate ?? null)}`);
  return lines.join('\n');
}

// Draws `geography` (a FeatureCollection) into the <svg> `target`, shading grids by
// `shade` ('open' or 'overdue') from the stats rows `rows` (grouped by grid), with
// `points` (cases with case_id, lat, lon), the `selected` grid outlined, and onSelect(grid)
// called on a click.
export function drawMap(target, geography, rows, points, { shade, selected, onSelect }) {
  const features = geography.features ?? [];
  const { height, at } = projection(features);
  target.setAttribute('viewBox', `0 0 ${WIDTH} ${height}`);
  const byGrid = new Map(rows.map((r) => [r.key, r]));
  const value = (r) => (shade === 'overdue' ? r?.overdue_open : r?.open) ?? 0;
  const max = Math.max(1, ...rows.map(value));
  const grids = features.map((f) => {
    const grid = f.properties.grid;
    const n = value(byGrid.get(grid));
    const fill = n === 0 ? '#eef2f7' : `hsl(${shade === 'overdue' ? 0 : 28}, 75%, ${Math.round(85 - 45 * (n / max))}%)`;
    return svg('path', {
      d: pathOf(f.geometry, at), fill, class: `grid${grid === selected ? ' selected' : ''}`,
      dataset: { grid, value: String(n) }, onclick: () => onSelect(grid),
    }, svg('title', {}, figuresText(f, byGrid.get(grid))));
  });
  const dots = clusters(points, at).map((c) => {
    const n = c.cases.length;
    const r = n === 1 ? 3 : 6 + 2 * Math.log2(n);
    const g = svg('g', { class: 'point', dataset: { cases: String(n), case: n === 1 ? c.cases[0] : '' } },
                  svg('circle', { cx: c.x.toFixed(1), cy: c.y.toFixed(1), r: r.toFixed(1) }),
                  svg('title', {}, n === 1 ? c.cases[0] : `${count(n)} ${t('open')}`));
    if (n > 1) {
      g.append(svg('text', { x: c.x.toFixed(1), y: (c.y + 4).toFixed(1), 'text-anchor': 'middle' }, String(n)));
    }
    return g;
  });
  target.replaceChildren(svg('g', { class: 'grids' }, ...grids), svg('g', { class: 'points' }, ...dots));
  target.dataset.grids = String(features.length);
  target.dataset.points = String(points.length);
}
