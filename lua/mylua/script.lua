-- mylua.script: being written (issue 11).
return {}
