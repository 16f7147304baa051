"""Who may do what: the access file, and applying it to the broker's ACLs and Redis's users.

`policy` reads `config/access.toml` into grants resolved for one deployment (pure);
`kafka_acls` and `redis_users` make the broker and Redis hold exactly those grants.
"""
