// W8's target server: HTTP/1.1 keep-alive, GET / -> "Hello, World!" text/plain, on 127.0.0.1:PORT.
//   node bench/peers/node/http_server.js PORT
// Prints READY once listening; exits on SIGTERM.
"use strict";
const http = require("http");
const port = Number(process.argv[2] || 8080);
const body = Buffer.from("Hello, World!");
const server = http.createServer((req, res) => {
  res.writeHead(200, { "Content-Type": "text/plain", "Content-Length": body.length });
  res.end(body);
});
server.keepAliveTimeout = 130000;
server.listen(port, "127.0.0.1", () => console.log("READY"));
process.on("SIGTERM", () => server.close(() => process.exit(0)));
