"""Tests of serve.py's changes to moto that no request through the SDK can show reliably.

Usage: python serve_test.py (with moto installed); infra/emulator's Go tests run it.
WAGATE_MOTO_UNPATCHED=1 runs the tests against moto as it is, where they fail: what each
change to moto is for.
"""

import importlib.util
import os
import threading
import unittest

from moto.sqs import models as sqs_models

_spec = importlib.util.spec_from_file_location("serve", os.path.join(os.path.dirname(__file__), "serve.py"))
serve = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(serve)

PATCHED = os.environ.get("WAGATE_MOTO_UNPATCHED") != "1"
if PATCHED:
    serve.patch_moto()


class SendDuringDelete(unittest.TestCase):
    def test_a_message_sent_while_another_is_deleted_stays(self):
        backend = sqs_models.sqs_backends["123456789012"]["us-east-1"]
        queue = backend.create_queue("send-during-delete")
        backend.send_message(queue.name, "first")
        [first] = backend.receive_message(queue.name, 1, 0, 30)
        sends = []

        # The thread switch that loses a message, made to happen: as the delete puts its new
        # list of messages in place, another thread sends, and is given half a second.
        class SwitchBeforeTheNewList(type(queue)):
            __module__ = sqs_models.__name__  # moto's model classes are named after it
            racing = False

            @property
            def _messages(self):
                return self.__dict__["_messages"]

            @_messages.setter
            def _messages(self, value):
                if SwitchBeforeTheNewList.racing:
                    SwitchBeforeTheNewList.racing = False
                    sends.append(threading.Thread(target=backend.send_message, args=(queue.name, "second")))
                    sends[0].start()
                    sends[0].join(0.5)
                self.__dict__["_messages"] = value

        queue.__class__ = SwitchBeforeTheNewList
        SwitchBeforeTheNewList.racing = True
        backend.delete_message(queue.name, first.receipt_handle)
        self.assertEqual(len(sends), 1, "the delete put no new list in place")
        sends[0].join()

        bodies = [m.body for m in backend.receive_message(queue.name, 10, 0, 30)]
        self.assertEqual(bodies, ["second"], "the message sent during the delete")


if __name__ == "__main__":
    unittest.main()
