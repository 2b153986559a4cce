-- mylua.batch: being written (issue 11).
return {}
