"""minio-init's job against the S3 stand-in, with boto3 instead of MinIO's `mc`:

    python s3_seed.py ENDPOINT BUCKET FILE KEY

the same as `mc mb --ignore-existing local/BUCKET && mc cp FILE local/BUCKET/KEY`, with the
access key and secret of MINIO_ROOT_USER / MINIO_ROOT_PASSWORD.
"""

import os
import sys

import boto3


def main() -> None:
    endpoint, bucket, path, key = sys.argv[1:5]
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                      aws_access_key_id=os.environ["MINIO_ROOT_USER"],
                      aws_secret_access_key=os.environ["MINIO_ROOT_PASSWORD"])
    if bucket not in {b["Name"] for b in s3.list_buckets().get("Buckets", [])}:
        s3.create_bucket(Bucket=bucket)
        print(f"Bucket created successfully `local/{bucket}`.")
    else:
        print(f"Bucket `local/{bucket}` already exists.")
    s3.upload_file(path, bucket, key)
    print(f"`{path}` -> `local/{bucket}/{key}` ({os.path.getsize(path)} bytes)")


if __name__ == "__main__":
    main()
