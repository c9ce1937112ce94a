"""One module per Lambda function, each exposing `handler(event, context)`."""
