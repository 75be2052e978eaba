# Watches a page in Chromium over the DevTools protocol: prints its console lines until it logs
# {"bench":"done"} (or an error, or TIMEOUT seconds pass), then saves screenshots at 1920x1080
# and 1280x720 into OUTDIR. The standard library only, with a minimal WebSocket client: the GPU
# machine has no network to install one from. Usage: cdp_watch.py PORT OUTDIR TIMEOUT
import base64, json, os, socket, struct, sys, time, urllib.request
port, out, timeout = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
for _ in range(100):
    try:
        tabs = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json"))
        tab = next(t for t in tabs if t.get("type") == "page"); break
    except Exception:
        time.sleep(0.3)
ws = tab["webSocketDebuggerUrl"]; path = ws.split(f":{port}", 1)[1]
s = socket.create_connection(("127.0.0.1", port))
s.sendall((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
buf = b""
while b"\r\n\r\n" not in buf: buf += s.recv(4096)
buf = buf.split(b"\r\n\r\n", 1)[1]
def recv_exact(n):
    global buf
    while len(buf) < n: buf += s.recv(1 << 20)
    d, buf = buf[:n], buf[n:]; return d
def send(obj):
    p = json.dumps(obj).encode(); h = bytes([0x81]); n = len(p)
    h += bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + struct.pack(">H", n) if n < 65536 else bytes([0x80 | 127]) + struct.pack(">Q", n)
    s.sendall(h + b"\0\0\0\0" + p)
def recv():
    b0, b1 = recv_exact(2); n = b1 & 127
    if n == 126: n = struct.unpack(">H", recv_exact(2))[0]
    elif n == 127: n = struct.unpack(">Q", recv_exact(8))[0]
    return json.loads(recv_exact(n))
mid = 0
def call(method, **params):
    global mid; mid += 1; send({"id": mid, "method": method, "params": params})
    while True:
        m = recv()
        if m.get("id") == mid: return m.get("result", {})
        note(m)
done = False
def note(m):
    global done
    if m.get("method") == "Runtime.consoleAPICalled":
        for a in m["params"]["args"]:
            v = str(a.get("value", ""))
            print(v, flush=True)
            if '"bench":"done"' in v or '"bench":"error"' in v: done = True
call("Runtime.enable")
t0 = time.time()
s.settimeout(5)
while not done and time.time() - t0 < timeout:
    try: note(recv())
    except socket.timeout: pass
s.settimeout(None)
for w, h in [(1920, 1080), (1280, 720)]:
    call("Emulation.setDeviceMetricsOverride", width=w, height=h, deviceScaleFactor=1, mobile=False)
    time.sleep(3.5)
    r = call("Page.captureScreenshot", format="png")
    open(os.path.join(out, f"presenter-{w}x{h}.png"), "wb").write(base64.b64decode(r["data"]))
print("shots done", flush=True)
