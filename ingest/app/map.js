// A small map of a case's place, drawn as SVG from the active geography (no tile server:
// a town's intranet has no internet): the grids of the case's village, its own grid
// marked, and the reported position as a point.
const SVG = 'http://www.w3.org/2000/svg';
const WIDTH = 320;
const MAX_HEIGHT = 240;

function svg(tag, attrs = {}) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  return node;
}

function rings(geometry) {
  if (geometry?.type === 'Polygon') return geometry.coordinates;
  if (geometry?.type === 'MultiPolygon') return geometry.coordinates.flat();
  return [];
}

export function drawPlace(container, geography, grid, lat, lon) {
  const features = geography.features ?? [];
  const own = features.find((f) => f.properties?.grid === grid);
  const village = own?.properties?.village;
  const shown = features.filter((f) => f.properties?.village === village || f === own);
  if (!shown.length) return;
  let south = Infinity, north = -Infinity, west = Infinity, east = -Infinity;
  const extend = (x, y) => { west = Math.min(west, x); east = Math.max(east, x); south = Math.min(south, y); north = Math.max(north, y); };
  for (const f of shown) for (const ring of rings(f.geometry)) for (const [x, y] of ring) extend(x, y);
  if (lat !== undefined && lon !== undefined) extend(lon, lat);
  const k = Math.cos(((south + north) / 2) * Math.PI / 180);
  // Fitted to both sides, so that the village and the point are always in view.
  const scale = Math.min(WIDTH / Math.max((east - west) * k, 1e-9), MAX_HEIGHT / Math.max(north - south, 1e-9));
  const width = Math.round((east - west) * k * scale);
  const height = Math.round((north - south) * scale);
  const at = (x, y) => [((x - west) * k * scale).toFixed(1), ((north - y) * scale).toFixed(1)];
  const root = svg('svg', { viewBox: `-8 -8 ${width + 16} ${height + 16}`, role: 'img', 'aria-label': grid });
  for (const f of shown) {
    const d = rings(f.geometry).map((ring) => `M${ring.map(([x, y]) => at(x, y).join(',')).join('L')}Z`).join('');
    const path = svg('path', { d, class: f === own ? 'grid own' : 'grid' });
    const title = svg('title');
    title.textContent = f.properties.grid;
    path.append(title);
    root.append(path);
  }
  if (lat !== undefined && lon !== undefined) {
    const [x, y] = at(lon, lat);
    root.append(svg('circle', { cx: x, cy: y, r: 6, class: 'point' }));
  }
  container.replaceChildren(root);
}
