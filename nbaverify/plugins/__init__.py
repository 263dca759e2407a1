"""The parts of the nbaverify pytest plugin, one concern each (as pytest keeps junitxml, skipping,
terminal apart): the run options, which checks run and in what order, the run record, and the
fixtures. nbaverify.plugin registers them; checks import their helpers from nbaverify.checking.
"""
