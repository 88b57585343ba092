"""GraphQL for posts, by kind: types (and inputs), queries, mutations, subscriptions."""
