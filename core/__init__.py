"""The bottom layer every app may use: roles, personal-data crypto, the shared reference
cache, the API's problem details. It imports no app of this project (docs/architecture.md)."""
