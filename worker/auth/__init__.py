"""Authentication to Graph, apart from sending: where bearer tokens come from and which lane gets which.

tokens.py              Credentials, StaticToken, RefreshingToken (one fetch in flight), verify_credentials
client_credentials.py  the OAuth2 client-credentials flow through msal (secret or certificate)
clouds.py              national clouds: login host and Graph host in pairs
setup.py               Settings -> Credentials per tenant, and the Graph base URL they are good for
"""
