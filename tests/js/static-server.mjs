// A static file server on 127.0.0.1 (random port) for the browser suites: serves `routes`
// ({ "/prefix/": directory }) and `virtual` ({ "/path": { type, body } }) files.
import { createServer } from "node:http";
import { readFile, stat } from "node:fs/promises";
import path from "node:path";

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".wasm": "application/wasm",
  ".png": "image/png",
  ".svg": "image/svg+xml",
};

export async function serveStatic({ routes = {}, virtual = {} }) {
  const requests = [];
  const server = createServer(async (req, res) => {
    const url = new URL(req.url, "http://127.0.0.1");
    requests.push(url.pathname);
    try {
      const v = virtual[url.pathname];
      if (v) {
        res.writeHead(200, { "content-type": v.type, "cache-control": "no-store" });
        return res.end(v.body);
      }
      for (const [prefix, dir] of Object.entries(routes)) {
        if (!url.pathname.startsWith(prefix)) continue;
        let file = path.join(dir, decodeURIComponent(url.pathname.slice(prefix.length)));
        if (!file.startsWith(dir)) break;
        if ((await stat(file).catch(() => null))?.isDirectory()) file = path.join(file, "index.html");
        const body = await readFile(file);
        res.writeHead(200, { "content-type": TYPES[path.extname(file)] ?? "application/octet-stream", "cache-control": "no-store" });
        return res.end(body);
      }
      res.writeHead(404, { "content-type": "text/plain" }).end("not found");
    } catch {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found");
    }
  });
  await new Promise((resolve, reject) => server.once("error", reject).listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${server.address().port}`;
  return {
    url,
    requests,
    close: () => new Promise((resolve) => { server.closeAllConnections?.(); server.close(() => resolve()); }),
  };
}
