// A trivial local server for the load generator's benchmarks: answers every request at once, with a
// request id as the Invoke API does. Prints {url, port} when it listens.
const http = require('node:http')
let n = 0
const server = http.createServer((req, res) => {
  req.resume()
  req.on('end', () => {
    res.writeHead(200, {'Content-Type': 'application/json', 'Content-Length': 2, 'X-Amzn-RequestId': 'r-' + ++n})
    res.end('{}')
  })
})
server.keepAliveTimeout = 60000
server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({url: 'http://127.0.0.1:' + server.address().port, port: server.address().port})))
process.on('SIGTERM', () => process.exit(0))
