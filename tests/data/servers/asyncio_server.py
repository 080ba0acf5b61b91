# A small asyncio server for probe --server tests: holds every connection it
# accepts until the client closes. Usage: asyncio_server.py PORT [BACKLOG]
import asyncio, sys
port = int(sys.argv[1])
async def handle(r, w):
    try:
        while True:
            d = await r.read(4096)
            if not d: break
    except Exception:
        pass
    w.close()
async def main():
    s = await asyncio.start_server(handle, '127.0.0.1', port, backlog=int(sys.argv[2]) if len(sys.argv) > 2 else 128)
    async with s:
        await s.serve_forever()
asyncio.run(main())
