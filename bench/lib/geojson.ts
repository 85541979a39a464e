/**
 * The buffer scenario's data: a GeoJSON FeatureCollection of N hexagons, generated
 * deterministically (a seeded generator jitters each vertex), and a streaming vertex counter for the
 * GeoJSON outputs (GDAL's writer, ours, PyWPS's and the floor's alike).
 */

/** mulberry32: a small seeded generator, so that every run buffers the same polygons. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** N hexagons (7 positions each, closed) on a 0.1° grid, radius about 0.02°, attribute `id`. */
export function polygons(n: number, seed = 11): string {
  const next = random(seed);
  const features: string[] = [];
  const columns = 2000;
  for (let i = 0; i < n; i++) {
    const cx = -100 + (i % columns) * 0.1;
    const cy = -60 + Math.floor(i / columns) * 0.1;
    const ring: string[] = [];
    for (let k = 0; k < 6; k++) {
      const angle = (k * Math.PI) / 3;
      const r = 0.02 * (0.8 + 0.4 * next());
      ring.push(`[${(cx + r * Math.cos(angle)).toFixed(6)},${(cy + r * Math.sin(angle)).toFixed(6)}]`);
    }
    ring.push(ring[0]!);
    features.push(
      `{"type":"Feature","properties":{"id":${i}},"geometry":{"type":"Polygon","coordinates":[[${ring.join(',')}]]}}`,
    );
  }
  return `{"type":"FeatureCollection","features":[${features.join(',')}]}`;
}

/**
 * Counts positions in GeoJSON text fed in chunks: a `]` whose previous non-blank character is a
 * digit closes a position (the data has no other numeric arrays: no bbox, no array attributes).
 */
export class VertexCounter {
  count = 0;
  private lastDigit = false;

  push(chunk: string): void {
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk.charCodeAt(i);
      if (c === 93 /* ] */) {
        if (this.lastDigit) this.count++;
        this.lastDigit = false;
      } else if (c === 32 || c === 10 || c === 13 || c === 9) continue;
      else this.lastDigit = c >= 48 && c <= 57;
    }
  }
}

/** Reads a response body to the end, counting its vertices and bytes without keeping it. */
export async function countVertices(
  body: ReadableStream<Uint8Array> | null,
): Promise<{ vertices: number; bytes: number }> {
  const counter = new VertexCounter();
  let bytes = 0;
  if (!body) return { vertices: 0, bytes };
  const decoder = new TextDecoder();
  for await (const chunk of body) {
    bytes += chunk.length;
    counter.push(decoder.decode(chunk, { stream: true }));
  }
  counter.push(decoder.decode());
  return { vertices: counter.count, bytes };
}
