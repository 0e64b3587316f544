"""The toy channel is registered for the tests in this folder: the one registry line it takes."""

import tests.toy.channel  # noqa: F401 - registers the toy channel
