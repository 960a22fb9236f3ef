; placeholder
classes = win,unix,other
[tcp:request]
