"""Bootstraps a fresh moto S3 server started with INITIAL_NO_AUTH_ACTION_COUNT=3: the three unsigned requests make
an IAM user with an allow-all policy and an access key; the bucket is then created with that key (every request
from here on must carry a valid SigV4 signature). Prints "<access key> <secret key>".

    python3 scripts/s3-bootstrap.py <endpoint> <bucket>
"""
import json, sys, boto3
endpoint, bucket = sys.argv[1], sys.argv[2]
anon = dict(endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="bootstrap", aws_secret_access_key="bootstrap")
iam = boto3.client("iam", **anon)
iam.create_user(UserName="mediaflow")
iam.put_user_policy(UserName="mediaflow", PolicyName="everything", PolicyDocument=json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
key = iam.create_access_key(UserName="mediaflow")["AccessKey"]
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                  aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
s3.create_bucket(Bucket=bucket)
print(key["AccessKeyId"], key["SecretAccessKey"])
