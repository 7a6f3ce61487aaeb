"""A small JSON API for the REST benchmark: GET /tickets/<id> answers one record, HTTP/1.1 keep-alive,
one thread per connection (Python's standard library only)."""
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

RECORDS = {i: json.dumps({"id": i, "title": f"ticket {i}", "status": "open" if i % 3 else "closed",
                          "priority": i % 5, "created": 1700000000 + i * 60}).encode() for i in range(1, 1001)}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # One send per answer and no Nagle delay: an unbuffered writer sends the headers and the body apart,
    # and the body then waits for the client's delayed ACK (40 ms), which would make this upstream
    # measure the kernel's timers instead of its work.
    wbufsize = 65536
    disable_nagle_algorithm = True

    def do_GET(self):
        parts = self.path.split("?")[0].strip("/").split("/")
        body = RECORDS.get(int(parts[1])) if len(parts) == 2 and parts[0] == "tickets" and parts[1].isdigit() else None
        status = 200 if body else 404
        body = body or b'{"message":"not found"}'
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


ThreadingHTTPServer.daemon_threads = True
ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
