#!/usr/bin/python3
# Scrapes a tcpmax --metrics endpoint with Debian's prometheus_client parser
# until SAMPLE reaches VALUE (or 20 s pass), then prints every sample as one
# JSON object {"name{labels}": value} on stdout. Used by the integration
# tests (run with /usr/bin/python3: python3-prometheus-client is Debian's).
#   scrape_metrics.py URL SAMPLE VALUE
import json
import sys
import time
import urllib.request

from prometheus_client.parser import text_string_to_metric_families


def scrape(url):
    with urllib.request.urlopen(url, timeout=5) as resp:
        text = resp.read().decode()
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(s.labels.items()))
            out[s.name + ("{" + labels + "}" if labels else "")] = s.value
    return out


def main():
    url, name, want = sys.argv[1], sys.argv[2], float(sys.argv[3])
    deadline = time.time() + 20
    while True:
        samples = scrape(url)
        if samples.get(name, -1) >= want or time.time() > deadline:
            break
        time.sleep(0.1)
    print(json.dumps(samples))


main()
