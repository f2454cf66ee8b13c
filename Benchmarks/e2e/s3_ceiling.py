"""How fast the S3 server itself takes a file, as boto3 uploads it (8 MiB parts, 4 at once, like the Gateway): the
ceiling of any upload through the Gateway to that server. Median of --runs; prints MB/s.

    python3 Benchmarks/e2e/s3_ceiling.py --file big.mp4   (MEDIA_LOCAL_S3_URL and its keys in the environment)
"""
import argparse
import os
import statistics
import time
import urllib.parse

import boto3
from boto3.s3.transfer import TransferConfig

parser = argparse.ArgumentParser()
parser.add_argument("--file", required=True)
parser.add_argument("--runs", type=int, default=3)
args = parser.parse_args()
url = urllib.parse.urlparse(os.environ["MEDIA_LOCAL_S3_URL"])
query = urllib.parse.parse_qs(url.query)
s3 = boto3.client("s3", endpoint_url=query["endpoint"][0], region_name=query.get("region", ["us-east-1"])[0],
                  aws_access_key_id=os.environ["MEDIA_LOCAL_S3_ACCESS_KEY"],
                  aws_secret_access_key=os.environ["MEDIA_LOCAL_S3_SECRET_KEY"])
config = TransferConfig(multipart_threshold=8 << 20, multipart_chunksize=8 << 20, max_concurrency=4)
size = os.path.getsize(args.file)
speeds = []
for run in range(args.runs):
    key = f"bench-ceiling/{run}.bin"
    started = time.perf_counter()
    s3.upload_file(args.file, url.hostname, key, Config=config)
    speeds.append(size / (time.perf_counter() - started) / 1e6)
    s3.delete_object(Bucket=url.hostname, Key=key)
print(f"S3 server ceiling: boto3 uploads the same {size / 1e6:.0f} MB at {statistics.median(speeds):.0f} MB/s "
      f"(median of {args.runs}: {', '.join(f'{s:.0f}' for s in speeds)})")
