-- mylua.migrate: being written (issue 11).
return {}
