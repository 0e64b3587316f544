"""A toy third channel, used only in tests: proof that a channel is a plug-in.

Everything it takes is in this folder: its emulator (:mod:`tests.toy.emulator`), its adapter
(:mod:`tests.toy.adapter`), its registry entry (:mod:`tests.toy.channel`, which registers it from
the test suite: no production code names it), its channel-contract harness
(:mod:`tests.toy.harness`) and its end-to-end test beside WooCommerce and Square.
"""
