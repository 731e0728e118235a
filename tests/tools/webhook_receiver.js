// A webhook receiver for Roster's tests, independent of Roster's code: it verifies
// every request with the Standard Webhooks reference library (`standardwebhooks`,
// pinned in package.json) and records what it saw.
//
//   node webhook_receiver.js      prints "listening PORT" once it listens on 127.0.0.1
//
// Control (same port):
//   POST /_control  {"secrets": ["whsec_…", …], "fail_first": N}
//       verify with each secret from now on; answer 500 to the next N requests
//   GET  /_control  every request seen: {id, type, status, verified: [bool per secret],
//       signatures: how many the header held, body}
"use strict";

const http = require("http");
const { Webhook } = require("standardwebhooks");

let secrets = [];
let failLeft = 0;
const seen = [];

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

const server = http.createServer(async (req, res) => {
  const body = await readBody(req);
  if (req.url === "/_control") {
    if (req.method === "POST") {
      const config = JSON.parse(body);
      if (config.secrets) secrets = config.secrets;
      if (typeof config.fail_first === "number") failLeft = config.fail_first;
      res.writeHead(204).end();
    } else {
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(seen));
    }
    return;
  }
  const verified = secrets.map((secret) => {
    try {
      new Webhook(secret).verify(body, req.headers);
      return true;
    } catch (_) {
      return false;
    }
  });
  let type = null;
  try {
    type = JSON.parse(body).type;
  } catch (_) {}
  let status;
  if (failLeft > 0) {
    failLeft -= 1;
    status = 500;
  } else {
    status = verified.some((v) => v) ? 204 : 400;
  }
  seen.push({
    id: req.headers["webhook-id"] || null,
    type,
    status,
    verified,
    signatures: (req.headers["webhook-signature"] || "").split(" ").filter((s) => s).length,
    body,
  });
  res.writeHead(status, { "content-type": "text/plain" }).end(status === 500 ? "down\r\n\u001b[31mfor now" : "");
});

server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});
